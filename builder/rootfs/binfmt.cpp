// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/binfmt.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

namespace uhs::rootfs {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

// The ELF header of a little-endian 64-bit aarch64 executable (e_machine 0xb7), as
// registrations spell their magic.
constexpr std::string_view k_aarch64_magic = "7f454c460201010000000000000000000200b700";

constexpr const char* k_fix =
    "apt-get install qemu-user-static binfmt-support; without systemd also run "
    "'mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc' and "
    "'update-binfmts --enable qemu-aarch64'";

} // namespace

util::Result<Binfmt> check_aarch64_binfmt(const fs::path& binfmt_dir) {
    auto status = util::read_file(binfmt_dir / "status");
    if (!status) {
        return fail(Errc::not_found, "binfmt_misc is not mounted at ", binfmt_dir.string(),
                    ", so arm64 maintainer scripts cannot run: ", k_fix);
    }
    if (util::trim(*status) != "enabled") {
        return fail(Errc::not_found, "binfmt_misc is disabled (", binfmt_dir.string(),
                    "/status): run 'echo 1 > ", binfmt_dir.string(), "/status'");
    }
    auto names = UHS_TRY(util::list_dir_sorted(binfmt_dir));
    for (const std::string& name : names) {
        if (name == "status" || name == "register") {
            continue;
        }
        auto text = util::read_file(binfmt_dir / name);
        if (!text) {
            continue;
        }
        Binfmt entry{name, "", ""};
        bool enabled = false;
        bool aarch64 = false;
        for (std::string_view line : util::split(*text, '\n')) {
            line = util::trim(line);
            if (line == "enabled") {
                enabled = true;
            } else if (line.starts_with("interpreter ")) {
                entry.interpreter = std::string(line.substr(12));
            } else if (line.starts_with("flags: ")) {
                entry.flags = std::string(line.substr(7));
            } else if (line.starts_with("magic ")) {
                aarch64 = line.substr(6) == k_aarch64_magic;
            }
        }
        if (!aarch64) {
            continue;
        }
        if (!enabled) {
            return fail(Errc::not_found, "the binfmt entry ", name,
                        " for aarch64 is disabled: run 'update-binfmts --enable ", name, "'");
        }
        if (entry.flags.find('F') == std::string::npos) {
            return fail(Errc::not_found, "the binfmt entry ", name,
                        " for aarch64 lacks the F flag (", entry.interpreter,
                        " would have to exist inside the chroot): install qemu-user-static, "
                        "whose registration has it");
        }
        return entry;
    }
    return fail(Errc::not_found, "no binfmt_misc entry runs aarch64 binaries: ", k_fix);
}

} // namespace uhs::rootfs
