// SPDX-License-Identifier: Apache-2.0
// `diff`: what differs between two builds, artifact by artifact and file by file; `verify`:
// a built image checked against its manifest and, for disk.img, from the inside.
#include "builder/cli/commands.hpp"
#include "builder/image/image_diff.hpp"
#include "builder/verify/verify.hpp"

#include <nlohmann/json.hpp>

namespace uhs::cli {

namespace {

int run_diff(const util::ParsedArgs& args, util::Io& io) {
    auto diff = image::diff_images(args.positionals.at(0), args.positionals.at(1));
    if (!diff) {
        return util::report_error(io, "uhs-image diff", diff.error().message, util::k_exit_usage);
    }
    if (args.has("--json")) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : *diff) {
            out.push_back({{"artifact", d.artifact}, {"member", d.member}, {"what", d.what}});
        }
        io.out << out.dump(2) << '\n';
    } else {
        for (const auto& d : *diff) {
            io.out << d.artifact << (d.member.empty() ? "" : ": " + d.member) << ": " << d.what
                   << '\n';
        }
    }
    // As diff(1): 0 identical, 1 different, 2 trouble.
    return diff->empty() ? util::k_exit_ok : util::k_exit_failure;
}

int run_verify(const util::ParsedArgs& args, util::Io& io) {
    auto report = image::verify_image(args.positionals.at(0), image::open_with_guestfs);
    if (!report) {
        return util::report_error(io, "uhs-image verify", report.error().message,
                                  util::k_exit_usage);
    }
    if (args.has("--json")) {
        nlohmann::json checks = nlohmann::json::array();
        for (const auto& c : report->checks) {
            checks.push_back({{"check", c.what}, {"ok", c.ok}, {"detail", c.detail}});
        }
        io.out << nlohmann::json{{"ok", report->ok()}, {"checks", checks}}.dump(2) << '\n';
    } else {
        for (const auto& c : report->checks) {
            io.out << (c.ok ? "ok    " : "FAIL  ") << c.what << ": " << c.detail << '\n';
        }
        io.out << args.positionals.at(0) << ": " << (report->ok() ? "verified" : "NOT verified")
               << '\n';
    }
    return report->ok() ? util::k_exit_ok : util::k_exit_failure;
}

} // namespace

std::vector<util::SubcommandSpec> image_commands() {
    return {
        {
            .name = "diff",
            .summary = "show what differs between two builds (the reproducibility debugger)",
            .arguments = "IMAGE-DIR-A IMAGE-DIR-B [--json]",
            .description =
                "Compares every artifact by SHA-256 and, for tar artifacts that differ,\n"
                "every member: type, mode, owner, mtime, link target, content.\n"
                "Exits 0 when identical, 1 when they differ, 2 on error.",
            .options = {{"--json", util::TakesValue::no, "print the differences as JSON"}},
            .min_positionals = 2,
            .max_positionals = 2,
            .run = run_diff,
        },
        {
            .name = "verify",
            .summary = "check a built image against its manifest and disk.img from the inside",
            .arguments = "IMAGE-DIR [--json]",
            .description =
                "Every file manifest.json lists must be there with its size and SHA-256. When\n"
                "disk.img exists it is opened read-only with libguestfs: the partition table\n"
                "(FAT32 boot, ext4 root), fsck.fat and e2fsck -f, the boot partition against\n"
                "boot/, the root filesystem against rootfs.tar member by member.\n"
                "Exits 0 when every check holds, 1 when one does not, 2 on error.",
            .options = {{"--json", util::TakesValue::no, "print the checks as JSON"}},
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_verify,
        },
    };
}

} // namespace uhs::cli
