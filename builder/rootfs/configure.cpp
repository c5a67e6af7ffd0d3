// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/configure.hpp"

#include "builder/apt/control.hpp"
#include "builder/apt/deb822.hpp"
#include "builder/rootfs/deb.hpp"
#include "builder/rootfs/dpkg_db.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/parallel.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <future>
#include <set>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

namespace uhs::rootfs {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

// exit 101: "action forbidden by policy" (invoke-rc.d, deb-systemd-invoke).
constexpr std::string_view k_policy_script = "#!/bin/sh\n# Written by uhs-image build: no service "
                                             "starts while the image is built.\nexit 101\n";

constexpr std::string_view k_noop_update_initramfs =
    "#!/bin/sh\n# Written by uhs-image build: the initramfs is made once, after the overlays.\n"
    "echo 'update-initramfs: held by uhs-image build until the overlays are in place' >&2\n"
    "exit 0\n";

constexpr std::string_view k_fake_start_stop_daemon =
    "#!/bin/sh\n# Written by uhs-image build: no daemon starts while the image is built.\n"
    "echo 'Warning: fake start-stop-daemon called, doing nothing' >&2\nexit 0\n";

void say(const ConfigureOptions& options, std::string_view line) {
    if (options.progress) {
        options.progress(line);
    }
}

void phase_done(const ConfigureOptions& options, std::string_view phase) {
    if (options.phase_done) {
        options.phase_done(phase);
    }
}

struct Control {
    std::string name;
    bool essential = false;
    std::vector<std::string> needs; // Depends + Pre-Depends names (first alternative that exists)
    std::vector<std::string> provides;
};

util::Result<Control> read_control(const DebArchive& deb) {
    const auto files = UHS_TRY(read_control_files(deb));
    const auto it = files.find("control");
    if (it == files.end()) {
        return fail(Errc::invalid_input, deb.name, ": no control file");
    }
    const auto paragraphs = UHS_TRY(apt::parse_deb822(it->second, deb.name + ": control"));
    if (paragraphs.empty()) {
        return fail(Errc::invalid_input, deb.name, ": empty control file");
    }
    const apt::Paragraph& p = paragraphs.front();
    Control control;
    control.name = std::string(p.get_or_empty("Package"));
    control.essential = util::to_lower(p.get_or_empty("Essential")) == "yes";
    for (const char* field : {"Pre-Depends", "Depends"}) {
        for (const auto& group : UHS_TRY(apt::parse_relationships(p.get_or_empty(field)))) {
            for (const auto& atom : group) {
                control.needs.push_back(atom.name);
            }
        }
    }
    for (const auto& group : UHS_TRY(apt::parse_relationships(p.get_or_empty("Provides")))) {
        for (const auto& atom : group) {
            control.provides.push_back(atom.name);
        }
    }
    return control;
}

util::Status write_file(const fs::path& path, std::string_view content, unsigned mode) {
    return util::write_file_atomic(path, content, mode);
}

util::Status remove_path(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) {
        return fail(Errc::io, "cannot remove ", path.string(), ": ", ec.message());
    }
    return {};
}

// Writes each of `names` into `dir` (inside the root) decompressed (write_plain_deb), on every
// core, as NNNN-name.deb in install order; returns their paths as the target sees them.
util::Result<std::vector<std::string>>
stage_debs(const std::vector<std::string>& names,
           const std::map<std::string, const PackageFile*>& by_name, const fs::path& root,
           const fs::path& dir) {
    UHS_CHECK(util::create_dirs(root / dir));
    std::vector<std::string> inside(names.size());
    auto stage_one = [&](std::size_t i) -> util::Status {
        char prefix[24];
        std::snprintf(prefix, sizeof prefix, "%04zu-", i);
        const fs::path file = dir / (std::string(prefix) + names[i] + ".deb");
        const DebArchive deb = UHS_TRY(read_deb(by_name.at(names[i])->deb));
        inside[i] = "/" + file.string();
        return write_plain_deb(deb, root / file);
    };
    UHS_CHECK(util::for_each_parallel(names.size(), stage_one));
    return inside;
}

// Runs `argv` in the chroot with the build's environment, mounts, timeout and log; `what`
// names it in the error ("dpkg --install of the Essential packages").
util::Status run_in_chroot(const fs::path& root, std::vector<std::string> argv,
                           const std::string& what, const ConfigureOptions& options,
                           ChrootRunner& runner,
                           std::vector<ChrootMount> mounts = chroot_mounts()) {
    ChrootCommand command;
    command.root = root;
    command.argv = std::move(argv);
    command.env = chroot_environment(options.source_date_epoch);
    command.mounts = std::move(mounts);
    command.timeout = options.timeout;
    command.log = options.log;
    const ChrootResult result = UHS_TRY(runner.run(command));
    if (result.exit_code == 124) {
        return fail(Errc::timeout, what, " did not finish in ",
                    std::to_string(options.timeout.count()), " s (log: ", options.log.string(),
                    ")");
    }
    if (result.exit_code != 0) {
        return fail(Errc::failed, what, " failed (exit ", std::to_string(result.exit_code),
                    "; log: ", options.log.string(), "): ", util::trim(result.log_tail));
    }
    return {};
}

util::Status run_dpkg(const fs::path& root, const std::vector<std::string>& debs,
                      const std::string& what, const ConfigureOptions& options,
                      ChrootRunner& runner) {
    if (debs.empty()) {
        return {};
    }
    std::vector<std::string> argv = {"/usr/bin/dpkg", "--install", "--force-depends",
                                     "--force-unsafe-io", "--force-confnew"};
    argv.insert(argv.end(), debs.begin(), debs.end());
    return run_in_chroot(root, std::move(argv), "dpkg --install of the " + what + " packages",
                         options, runner);
}

// update-initramfs diverted (dpkg-divert --local --rename, as Debian's image tools do it) to
// k_held_update_initramfs, and a no-op in its place: the kernel's postinst hook and
// initramfs-tools' trigger then make nothing.
util::Status hold_update_initramfs(const fs::path& root, const ConfigureOptions& options,
                                   ChrootRunner& runner) {
    UHS_CHECK(run_in_chroot(root,
                            {"/usr/bin/dpkg-divert", "--local", "--rename", "--divert",
                             "/" + std::string(k_held_update_initramfs), "--add",
                             "/" + std::string(k_update_initramfs)},
                            "dpkg-divert of update-initramfs", options, runner));
    return write_file(root / k_update_initramfs, k_noop_update_initramfs, 0755);
}

// Undoes hold_update_initramfs: the package's own update-initramfs back in place, and the
// dpkg database as if no diversion had ever been (dpkg-divert leaves an empty `diversions`
// file where there was none).
util::Status release_update_initramfs(const fs::path& root, bool had_diversions,
                                      const ConfigureOptions& options, ChrootRunner& runner) {
    // Only ever our own no-op goes: had a package or a script put something else there, the
    // hold did not hold, and removing it could remove the real program.
    const fs::path noop = root / k_update_initramfs;
    if (util::read_file(noop).value_or("") != k_noop_update_initramfs) {
        return fail(Errc::failed, "/", k_update_initramfs,
                    " is no longer uhs-image's no-op after dpkg (a package wrote it, bypassing "
                    "the diversion): the initramfs hold did not hold");
    }
    UHS_CHECK(remove_path(noop));
    UHS_CHECK(run_in_chroot(root,
                            {"/usr/bin/dpkg-divert", "--local", "--rename", "--divert",
                             "/" + std::string(k_held_update_initramfs), "--remove",
                             "/" + std::string(k_update_initramfs)},
                            "dpkg-divert --remove of update-initramfs", options, runner));
    const fs::path diversions = root / "var/lib/dpkg/diversions";
    std::error_code ec;
    if (!had_diversions && fs::is_regular_file(diversions, ec) &&
        fs::file_size(diversions, ec) == 0) {
        UHS_CHECK(remove_path(diversions));
    }
    return {};
}

} // namespace

std::vector<std::string> chroot_environment(std::int64_t source_date_epoch) {
    return {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL=C.UTF-8",
        "LANG=C.UTF-8",
        "TZ=UTC",
        "HOME=/root",
        "DEBIAN_FRONTEND=noninteractive",
        "DEBCONF_NONINTERACTIVE_SEEN=true",
        "SOURCE_DATE_EPOCH=" + std::to_string(source_date_epoch),
    };
}

std::vector<ChrootMount> chroot_mounts() {
    return {ChrootMount::proc, ChrootMount::sys, ChrootMount::dev};
}

std::vector<std::string>
install_order(const std::map<std::string, std::vector<std::string>>& depends) {
    std::vector<std::string> order;
    std::set<std::string> done;
    std::set<std::string> visiting;
    // Depth-first, children in name order: deterministic whatever the input order.
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (done.count(name) || visiting.count(name)) {
            return; // placed already, or a cycle: dpkg --force-depends copes
        }
        visiting.insert(name);
        if (auto it = depends.find(name); it != depends.end()) {
            std::vector<std::string> needs = it->second;
            std::sort(needs.begin(), needs.end());
            for (const std::string& need : needs) {
                if (depends.count(need)) {
                    visit(need);
                }
            }
        }
        visiting.erase(name);
        done.insert(name);
        order.push_back(name);
    };
    for (const auto& [name, needs] : depends) {
        visit(name);
    }
    return order;
}

util::Status install_packages(const fs::path& root, const std::vector<PackageFile>& packages,
                              const ConfigureOptions& options, ChrootRunner& runner) {
    // Merged /usr, as trixie's base-files expects: /bin, /sbin, /lib are links into /usr.
    for (const char* dir : {"usr/bin", "usr/sbin", "usr/lib"}) {
        UHS_CHECK(util::create_dirs(root / dir));
    }
    for (const char* alias : {"bin", "sbin", "lib"}) {
        std::error_code ec;
        if (!fs::is_symlink(root / alias)) {
            fs::create_symlink(fs::path("usr") / alias, root / alias, ec);
        }
        if (ec) {
            return fail(Errc::io, "cannot link ", (root / alias).string(), ": ", ec.message());
        }
    }

    // Read every control file once: names, dependencies, what the package provides.
    std::map<std::string, std::string> provider; // virtual or real name -> package
    std::map<std::string, const PackageFile*> by_name;
    std::map<std::string, Control> controls;
    say(options, "extract: reading " + std::to_string(packages.size()) + " packages");
    for (const PackageFile& p : packages) {
        const DebArchive deb = UHS_TRY(read_deb(p.deb));
        Control control = UHS_TRY(read_control(deb));
        if (control.name != p.name) {
            return fail(Errc::integrity, p.deb.string(), ": is package '", control.name,
                        "', the lock says '", p.name, "'");
        }
        for (const std::string& v : control.provides) {
            provider.emplace(v, p.name);
        }
        by_name[p.name] = &p;
        controls[p.name] = std::move(control);
    }
    std::map<std::string, std::vector<std::string>> needs_of;
    for (const auto& [name, control] : controls) {
        std::vector<std::string>& needs = needs_of[name];
        for (const std::string& need : control.needs) {
            if (by_name.count(need)) {
                needs.push_back(need);
            } else if (auto it = provider.find(need); it != provider.end()) {
                needs.push_back(it->second);
            }
        }
    }
    // The Essential set as mmdebstrap takes it: Essential: yes and everything it needs.
    std::set<std::string> essential_set;
    std::vector<std::string> todo;
    for (const auto& [name, control] : controls) {
        if (control.essential) {
            todo.push_back(name);
        }
    }
    while (!todo.empty()) {
        const std::string name = todo.back();
        todo.pop_back();
        if (!essential_set.insert(name).second) {
            continue;
        }
        for (const std::string& need : needs_of[name]) {
            todo.push_back(need);
        }
    }
    std::map<std::string, std::vector<std::string>> essential_needs, other_needs;
    for (const auto& [name, needs] : needs_of) {
        (essential_set.count(name) ? essential_needs : other_needs)[name] = needs;
    }
    const std::vector<std::string> essential = install_order(essential_needs);
    const std::vector<std::string> others = install_order(other_needs);

    // The Essential set's files come first, so the target has a shell and dpkg to run.
    say(options, "extract: " + std::to_string(essential.size()) + " Essential packages");
    for (const std::string& name : essential) {
        const DebArchive deb = UHS_TRY(read_deb(by_name[name]->deb));
        const ExtractReport extracted = UHS_TRY(extract_data(deb, root, ExtractPolicy{}));
        (void)extracted;
    }
    UHS_CHECK(write_dpkg_database(root, DpkgDatabase{options.architecture, {}}));
    UHS_CHECK(write_file(root / k_policy_rc_d, k_policy_script, 0755));
    phase_done(options, "extract");

    // The target's dpkg gets every package decompressed (write_plain_deb): the Essential
    // set's first, then the rest's, written on the host while the target installs the
    // Essential set.
    const fs::path deb_dir = root / k_deb_dir;
    UHS_CHECK(remove_path(deb_dir));
    say(options, "stage: decompressing " + std::to_string(packages.size()) +
                     " packages for the target's dpkg (host, " +
                     std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
                     " threads)");
    const auto essential_debs =
        UHS_TRY(stage_debs(essential, by_name, root, fs::path(k_deb_dir) / "essential"));
    phase_done(options, "stage-debs");
    auto other_debs_later = std::async(std::launch::async, [&] {
        return stage_debs(others, by_name, root, fs::path(k_deb_dir) / "rest");
    });
    say(options, "configure: dpkg --install of " + std::to_string(essential.size()) +
                     " Essential packages in the target (qemu-user)");
    const util::Status essential_installed =
        run_dpkg(root, essential_debs, "Essential", options, runner);
    const auto other_debs_staged = other_debs_later.get();
    UHS_CHECK(essential_installed);
    const std::vector<std::string> other_debs = UHS_TRY(other_debs_staged);
    UHS_CHECK(remove_path(deb_dir / "essential"));
    phase_done(options, "dpkg-essential"); // and, beside it, the rest's staging

    // Essential dpkg is installed now; until the end no daemon may start through it, and no
    // initramfs is made: the one the image keeps is made once, after the overlays
    // (regenerate_initramfs), so the packages' own runs would be thrown away.
    std::error_code ec;
    const fs::path ssd = root / k_start_stop_daemon;
    const fs::path ssd_real = root / (std::string(k_start_stop_daemon) + ".REAL");
    const bool have_ssd = fs::exists(fs::symlink_status(ssd));
    if (have_ssd) {
        fs::rename(ssd, ssd_real, ec);
        if (ec) {
            return fail(Errc::io, "cannot move ", ssd.string(), " aside: ", ec.message());
        }
        UHS_CHECK(write_file(ssd, k_fake_start_stop_daemon, 0755));
    }
    const bool hold_initramfs = by_name.count("initramfs-tools") != 0;
    const bool had_diversions = fs::exists(root / "var/lib/dpkg/diversions");
    if (hold_initramfs) {
        UHS_CHECK(hold_update_initramfs(root, options, runner));
    }
    say(options, "configure: dpkg --install of " + std::to_string(others.size()) +
                     " more packages in the target (qemu-user)");
    const util::Status installed = run_dpkg(root, other_debs, "other", options, runner);
    if (have_ssd) {
        fs::rename(ssd_real, ssd, ec);
        if (ec) {
            return fail(Errc::io, "cannot restore ", ssd.string(), ": ", ec.message());
        }
    }
    UHS_CHECK(installed);
    if (hold_initramfs) {
        UHS_CHECK(release_update_initramfs(root, had_diversions, options, runner));
        if (!fs::exists(fs::symlink_status(root / k_update_initramfs))) {
            return fail(Errc::failed, "initramfs-tools is installed but /", k_update_initramfs,
                        " is missing after its diversion was removed (log: ", options.log.string(),
                        ")");
        }
    }
    UHS_CHECK(remove_path(deb_dir));
    UHS_CHECK(remove_path(root / k_policy_rc_d));
    phase_done(options, "dpkg-rest"); // with its triggers

    const auto status = UHS_TRY(read_dpkg_status(root));
    for (const PackageFile& p : packages) {
        const auto it = status.find(p.name);
        if (it == status.end() || it->second != "install ok installed") {
            return fail(Errc::failed, "after dpkg, ", p.name, " is '",
                        it == status.end() ? "not in the status database" : it->second,
                        "' instead of 'install ok installed' (log: ", options.log.string(), ")");
        }
    }
    return {};
}

std::vector<std::string> installed_kernels(const fs::path& root) {
    std::vector<std::string> versions;
    for (const std::string& name :
         util::list_dir_sorted(root / "boot").value_or(std::vector<std::string>{})) {
        if (name.starts_with("vmlinuz-")) {
            versions.push_back(name.substr(8));
        }
    }
    return versions;
}

util::Result<bool> regenerate_initramfs(const fs::path& root, const ConfigureOptions& options,
                                        ChrootRunner& runner) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(root / k_update_initramfs, ec))) {
        return false;
    }
    const std::vector<std::string> versions = installed_kernels(root);
    if (versions.empty()) {
        return false;
    }
    for (const std::string& version : versions) {
        // -c where the kernel's own run was held (install_packages), -u where an initramfs
        // of this version was made before (its state file is update-initramfs' own record).
        const bool made = fs::exists(root / "var/lib/initramfs-tools" / version, ec);
        say(options, "initramfs: update-initramfs " + std::string(made ? "-u" : "-c") + " -k " +
                         version + " (once, with the overlays' hooks)");
        // mkinitramfs works in a scratch directory under /var/tmp: on a tmpfs of its own, the
        // root is left as it was but for the initramfs and its state file, the same as when
        // the stage cache hands the initramfs back (StageCache::restore_initramfs).
        std::vector<ChrootMount> mounts = chroot_mounts();
        mounts.push_back(ChrootMount::tmp);
        UHS_CHECK(run_in_chroot(
            root, {"/" + std::string(k_update_initramfs), made ? "-u" : "-c", "-k", version},
            "update-initramfs", options, runner, std::move(mounts)));
    }
    return true;
}

} // namespace uhs::rootfs
