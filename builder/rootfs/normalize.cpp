// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/normalize.hpp"

#include "builder/rootfs/safe_path.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::rootfs {

using util::Errc;
using util::fail;
using util::UniqueFd;

namespace {

// A directory and a shell pattern for names in it; files only, never directories.
struct Rule {
    const char* dir;
    const char* pattern;
};

constexpr Rule k_remove[] = {
    {"var/log", "dpkg.log"},
    {"var/log", "alternatives.log"},
    {"var/log", "bootstrap.log"},
    {"var/log/apt", "history.log"},
    {"var/log/apt", "term.log"},
    {"var/log/apt", "eipp.log.xz"},
    {"var/cache/ldconfig", "aux-cache"},
    {"var/lib/dbus", "machine-id"},
    {"var/cache/debconf", "*-old"},
    {"var/lib/dpkg", "*-old"},
    {"etc", "passwd-"},
    {"etc", "group-"},
    {"etc", "shadow-"},
    {"etc", "gshadow-"},
    {"etc", "subuid-"},
    {"etc", "subgid-"},
    {"etc/ssh", "ssh_host_*_key"},
    {"etc/ssh", "ssh_host_*_key.pub"},
    {"var/lib/systemd", "random-seed"},
    {"var/lib/systemd/timesync", "clock"},
    {"var/cache/apt", "*.bin"},
    {"var/lib/apt/lists", "*"},
    {"tmp", "*"},
    {"var/tmp", "*"},
};

util::Result<UniqueFd> open_dir_beneath(int root, const std::string& dir) {
    auto parts = UHS_TRY(safe_components(dir + "/x", dir));
    return open_parent_beneath(root, parts, CreateParents::no, dir);
}

} // namespace

util::Result<NormalizeReport> normalize_rootfs(const std::filesystem::path& root) {
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        return fail(Errc::io, "cannot open ", root.string(), ": ", util::errno_text(errno));
    }
    NormalizeReport report;
    for (const Rule& rule : k_remove) {
        auto dir = open_dir_beneath(root_fd.get(), rule.dir);
        if (!dir) {
            continue; // absent, or a symlink we will not follow: nothing to clean there
        }
        const auto names = util::list_dir_sorted(root / rule.dir);
        if (!names) {
            continue;
        }
        for (const std::string& name : *names) {
            if (::fnmatch(rule.pattern, name.c_str(), FNM_PERIOD) != 0) {
                continue;
            }
            struct stat st {};
            if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                S_ISDIR(st.st_mode)) {
                continue;
            }
            if (::unlinkat(dir->get(), name.c_str(), 0) != 0) {
                return fail(Errc::io, "cannot remove /", rule.dir, "/", name, ": ",
                            util::errno_text(errno));
            }
            report.removed.push_back("/" + std::string(rule.dir) + "/" + name);
        }
    }
    // Replace, never write through: /etc/machine-id or /etc/hostname may be symlinks.
    UniqueFd etc = UHS_TRY(open_dir_beneath(root_fd.get(), "etc"));
    for (const auto& [name, content] :
         {std::pair<const char*, const char*>{"machine-id", ""}, {"hostname", "localhost\n"}}) {
        const std::string temp = std::string(".uhs-") + name;
        UniqueFd out(::openat(etc.get(), temp.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
        const std::string_view data(content);
        if (!out ||
            ::write(out.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
            ::fchmod(out.get(), 0644) != 0 ||
            ::renameat(etc.get(), temp.c_str(), etc.get(), name) != 0) {
            return fail(Errc::io, "cannot write /etc/", name, ": ", util::errno_text(errno));
        }
        report.emptied.push_back(std::string("/etc/") + name);
    }
    return report;
}

} // namespace uhs::rootfs
