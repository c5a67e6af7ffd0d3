// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/configure.hpp"
#include "builder/rootfs/deb.hpp"
#include "builder/rootfs/dpkg_db.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/archive_support.hpp"
#include "tests/unit/test_support.hpp"

#include <algorithm>
#include <map>

#include <sys/stat.h>

using namespace uhs;
using test::TarMember;
namespace fs = std::filesystem;

namespace {

// Stands in for the target's dpkg: records each call and what the root held at that moment,
// then marks the packages it was given as installed, as dpkg --install would.
class FakeChrootRunner final : public rootfs::ChrootRunner {
public:
    struct Call {
        rootfs::ChrootCommand command;
        bool policy_rc_d_refuses = false; // present, executable, "exit 101"
        std::string start_stop_daemon;    // its content during the call
        std::vector<std::string> present; // which of `watch` existed
        std::vector<bool> debs_inside;    // every .deb argument exists inside the root
        std::vector<bool> debs_plain;     // ... and has an uncompressed data.tar
        std::string update_initramfs;     // its content during the call
    };
    std::vector<Call> calls;
    std::vector<std::string> watch;
    int exit_code = 0;
    bool write_status = true;

    util::Result<rootfs::ChrootResult> run(const rootfs::ChrootCommand& command) override {
        Call call;
        call.command = command;
        const fs::path policy = command.root / rootfs::k_policy_rc_d;
        struct stat st {};
        auto text = util::read_file(policy);
        call.policy_rc_d_refuses = ::stat(policy.c_str(), &st) == 0 && (st.st_mode & 0111) &&
                                   text && text->find("exit 101") != std::string::npos;
        call.start_stop_daemon =
            util::read_file(command.root / rootfs::k_start_stop_daemon).value_or("");
        call.update_initramfs =
            util::read_file(command.root / rootfs::k_update_initramfs).value_or("");
        for (const std::string& path : watch) {
            if (fs::exists(command.root / path)) {
                call.present.push_back(path);
            }
        }
        for (const std::string& arg : command.argv) {
            if (arg.ends_with(".deb")) {
                call.debs_inside.push_back(fs::exists(command.root / arg.substr(1)));
                const auto deb = rootfs::read_deb(command.root / arg.substr(1));
                call.debs_plain.push_back(deb && deb->data_tar.size() > 262 &&
                                          deb->data_tar.compare(257, 5, "ustar") == 0);
                // "/var/cache/uhs-debs/0001-name.deb" -> name
                const std::string file = fs::path(arg).stem().string();
                installed.push_back(file.substr(file.find('-') + 1));
            }
        }
        calls.push_back(call);
        // dpkg-divert --rename --remove puts the diverted file back, as the real one does.
        const auto& argv = command.argv;
        if (argv[0] == "/usr/bin/dpkg-divert" &&
            std::find(argv.begin(), argv.end(), "--remove") != argv.end()) {
            const fs::path held = command.root / argv[4].substr(1);
            if (fs::exists(held)) {
                fs::rename(held, command.root / argv.back().substr(1));
            }
        }
        // What the next dpkg --install unpacks (path inside the root -> content).
        if (argv[0] == "/usr/bin/dpkg" && !unpack.empty()) {
            for (const auto& [path, content] : unpack) {
                REQUIRE(util::write_file_atomic(command.root / path, content, 0755));
            }
            unpack.clear();
        }
        if (write_status) {
            std::string status;
            for (const std::string& name : installed) {
                status += "Package: " + name + "\nStatus: install ok installed\n\n";
            }
            REQUIRE(util::write_file_atomic(command.root / "var/lib/dpkg/status", status));
        }
        return rootfs::ChrootResult{exit_code, exit_code ? "dpkg: error processing x" : ""};
    }

    std::vector<std::string> installed;
    std::map<std::string, std::string> unpack;
};

std::string control(const std::string& name, const std::string& extra) {
    return "Package: " + name + "\nVersion: 1.0\nArchitecture: arm64\n" + extra +
           "Maintainer: uhs tests <test@uhs.invalid>\nDescription: test\n";
}

struct Fixture {
    test::TestDir dir;
    fs::path root = dir.path() / "root";
    FakeChrootRunner runner;
    rootfs::ConfigureOptions options;
    std::vector<rootfs::PackageFile> packages;

    Fixture() {
        fs::create_directories(root);
        options.source_date_epoch = 1700000000;
        options.log = dir.path() / "dpkg.log";
        // "base" is Essential and needs "libc" (so libc belongs to the Essential set too);
        // "app" needs base; "sh-provider" provides a virtual name app also needs.
        add("libc", control("libc", ""),
            {{"./usr/", 'd', "", 0755},
             {"./usr/lib/", 'd', "", 0755},
             {"./usr/lib/libc.so", 'f', "elf"}});
        add("base", control("base", "Essential: yes\nPre-Depends: libc\n"),
            {{"./usr/", 'd', "", 0755},
             {"./usr/sbin/", 'd', "", 0755},
             {"./usr/sbin/start-stop-daemon", 'f', "real ssd", 0755},
             {"./bin", 'l', "usr/bin"}});
        add("app", control("app", "Depends: base, virtual-thing\n"),
            {{"./usr/", 'd', "", 0755},
             {"./usr/bin/", 'd', "", 0755},
             {"./usr/bin/app", 'f', "app", 0755}});
        add("thing", control("thing", "Provides: virtual-thing\n"), {{"./etc/", 'd', "", 0755}});
        runner.watch = {"usr/lib/libc.so", "usr/bin/app", "var/lib/dpkg/status"};
    }

    void add(const std::string& name, const std::string& ctl, const std::vector<TarMember>& data) {
        const fs::path deb = dir.path() / (name + ".deb");
        REQUIRE(util::write_file_atomic(deb, test::make_deb_with_control(ctl, data)));
        packages.push_back({name, deb});
    }
};

} // namespace

TEST_CASE("install order puts what a package needs first, deterministically") {
    CHECK(rootfs::install_order({{"app", {"lib", "base"}}, {"base", {"lib"}}, {"lib", {}}}) ==
          std::vector<std::string>{"lib", "base", "app"});
    // A cycle is broken, every package still appears once.
    CHECK(rootfs::install_order({{"a", {"b"}}, {"b", {"a"}}}) ==
          std::vector<std::string>{"b", "a"});
}

TEST_CASE_METHOD(Fixture, "configure runs the target's dpkg on the Essential set, then the rest") {
    REQUIRE(rootfs::install_packages(root, packages, options, runner));
    REQUIRE(runner.calls.size() == 2);

    const auto& essential = runner.calls[0];
    CHECK(essential.command.argv ==
          std::vector<std::string>{"/usr/bin/dpkg", "--install", "--force-depends",
                                   "--force-unsafe-io", "--force-confnew",
                                   "/var/cache/uhs-debs/essential/0000-libc.deb",
                                   "/var/cache/uhs-debs/essential/0001-base.deb"});
    CHECK(essential.command.root == root);
    CHECK(essential.command.log == options.log);
    CHECK(essential.command.env ==
          std::vector<std::string>{
              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8",
              "LANG=C.UTF-8", "TZ=UTC", "HOME=/root", "DEBIAN_FRONTEND=noninteractive",
              "DEBCONF_NONINTERACTIVE_SEEN=true", "SOURCE_DATE_EPOCH=1700000000"});
    CHECK(essential.command.mounts == std::vector<rootfs::ChrootMount>{rootfs::ChrootMount::proc,
                                                                       rootfs::ChrootMount::sys,
                                                                       rootfs::ChrootMount::dev});
    CHECK(essential.policy_rc_d_refuses);
    CHECK(essential.debs_inside == std::vector<bool>{true, true});
    CHECK(essential.debs_plain == std::vector<bool>{true, true});
    // The Essential set was extracted on the host first (with an empty database); the
    // rest only by the target's dpkg.
    CHECK(essential.present == std::vector<std::string>{"usr/lib/libc.so", "var/lib/dpkg/status"});
    CHECK(essential.start_stop_daemon == "real ssd");

    const auto& rest = runner.calls[1];
    CHECK(rest.command.argv == std::vector<std::string>{"/usr/bin/dpkg", "--install",
                                                        "--force-depends", "--force-unsafe-io",
                                                        "--force-confnew",
                                                        "/var/cache/uhs-debs/rest/0000-thing.deb",
                                                        "/var/cache/uhs-debs/rest/0001-app.deb"});
    CHECK(rest.policy_rc_d_refuses);
    CHECK(rest.debs_inside == std::vector<bool>{true, true});
    CHECK(rest.debs_plain == std::vector<bool>{true, true});
    // Without initramfs-tools nothing is diverted.
    CHECK(rest.update_initramfs.empty());
    CHECK(rest.start_stop_daemon.find("fake start-stop-daemon") != std::string::npos);

    // Afterwards: the build-only files are gone, start-stop-daemon is the real one again.
    CHECK_FALSE(fs::exists(root / rootfs::k_policy_rc_d));
    CHECK_FALSE(fs::exists(root / rootfs::k_deb_dir));
    CHECK_FALSE(fs::exists(root / (std::string(rootfs::k_start_stop_daemon) + ".REAL")));
    CHECK(*util::read_file(root / rootfs::k_start_stop_daemon) == "real ssd");
    CHECK(fs::read_symlink(root / "bin") == "usr/bin");
    CHECK(*util::read_file(root / "var/lib/dpkg/arch") == "arm64\n");
}

TEST_CASE_METHOD(Fixture, "update-initramfs is held while the packages install") {
    add("initramfs-tools", control("initramfs-tools", "Depends: base\n"),
        {{"./usr/", 'd', "", 0755},
         {"./usr/sbin/", 'd', "", 0755},
         {"./usr/sbin/update-initramfs", 'f', "#!/bin/sh\nreal\n", 0755}});
    // The rest's dpkg --install unpacks the program under the diverted name.
    auto real = std::map<std::string, std::string>{
        {"usr/sbin/update-initramfs.uhs-held", "#!/bin/sh\nreal\n"}};
    struct Staged final : rootfs::ChrootRunner {
        FakeChrootRunner& inner;
        std::map<std::string, std::string> rest;
        Staged(FakeChrootRunner& r, std::map<std::string, std::string> files)
            : inner(r), rest(std::move(files)) {}
        util::Result<rootfs::ChrootResult> run(const rootfs::ChrootCommand& command) override {
            if (inner.calls.size() == 2) { // the rest's dpkg --install
                inner.unpack = rest;
            }
            return inner.run(command);
        }
    } staged(runner, real);
    REQUIRE(rootfs::install_packages(root, packages, options, staged));
    REQUIRE(runner.calls.size() == 4);
    const std::string divert = "/usr/bin/dpkg-divert";
    CHECK(runner.calls[1].command.argv ==
          std::vector<std::string>{divert, "--local", "--rename", "--divert",
                                   "/usr/sbin/update-initramfs.uhs-held", "--add",
                                   "/usr/sbin/update-initramfs"});
    // While the rest installs, the kernel's hook and the trigger find a no-op.
    const auto& rest = runner.calls[2];
    CHECK(rest.command.argv.back() == "/var/cache/uhs-debs/rest/0002-initramfs-tools.deb");
    CHECK(rest.update_initramfs.find("held by uhs-image build") != std::string::npos);
    CHECK(runner.calls[3].command.argv ==
          std::vector<std::string>{divert, "--local", "--rename", "--divert",
                                   "/usr/sbin/update-initramfs.uhs-held", "--remove",
                                   "/usr/sbin/update-initramfs"});
    CHECK(runner.calls[3].update_initramfs.empty()); // the no-op is gone before the rename
    CHECK(*util::read_file(root / "usr/sbin/update-initramfs") == "#!/bin/sh\nreal\n");
    CHECK_FALSE(fs::exists(root / "usr/sbin/update-initramfs.uhs-held"));
    CHECK_FALSE(fs::exists(root / "var/lib/dpkg/diversions"));
}

TEST_CASE_METHOD(Fixture, "a hold that did not hold is an error, and the real program stays") {
    add("initramfs-tools", control("initramfs-tools", "Depends: base\n"), {});
    // A package wrote the path itself, past the diversion.
    struct Bypass final : rootfs::ChrootRunner {
        FakeChrootRunner& inner;
        explicit Bypass(FakeChrootRunner& r) : inner(r) {}
        util::Result<rootfs::ChrootResult> run(const rootfs::ChrootCommand& command) override {
            if (inner.calls.size() == 2) {
                inner.unpack = {{"usr/sbin/update-initramfs", "#!/bin/sh\nreal\n"}};
            }
            return inner.run(command);
        }
    } bypass(runner);
    auto installed = rootfs::install_packages(root, packages, options, bypass);
    REQUIRE_FALSE(installed);
    CHECK(installed.error().message.find("the initramfs hold did not hold") != std::string::npos);
    CHECK(*util::read_file(root / "usr/sbin/update-initramfs") == "#!/bin/sh\nreal\n");
}

TEST_CASE_METHOD(Fixture, "a failing dpkg stops the build naming the log, and cleans up") {
    runner.exit_code = 1;
    auto installed = rootfs::install_packages(root, packages, options, runner);
    REQUIRE_FALSE(installed);
    CHECK(installed.error().message.find("Essential packages failed (exit 1; log: " +
                                         options.log.string()) != std::string::npos);
    CHECK(installed.error().message.find("dpkg: error processing x") != std::string::npos);
    CHECK(runner.calls.size() == 1);
}

TEST_CASE_METHOD(Fixture, "a package dpkg did not finish is an error") {
    runner.write_status = false;
    auto installed = rootfs::install_packages(root, packages, options, runner);
    REQUIRE_FALSE(installed);
    CHECK(installed.error().message.find("instead of 'install ok installed'") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "a .deb that is another package than the lock says is refused") {
    packages[0].name = "not-libc";
    auto installed = rootfs::install_packages(root, packages, options, runner);
    REQUIRE_FALSE(installed);
    CHECK(installed.error().message.find("is package 'libc', the lock says 'not-libc'") !=
          std::string::npos);
    CHECK(runner.calls.empty());
}

TEST_CASE("the initramfs is made once after the overlays, only where initramfs-tools is") {
    test::TestDir dir;
    const fs::path root = dir.path() / "root";
    fs::create_directories(root / "boot");
    FakeChrootRunner runner;
    runner.write_status = false;
    rootfs::ConfigureOptions options;
    options.source_date_epoch = 1700000000;
    options.log = dir.path() / "build.log";

    // No initramfs-tools: nothing runs.
    REQUIRE(util::write_file_atomic(root / "boot/vmlinuz-6.12.0-arm64", "kernel"));
    auto skipped = rootfs::regenerate_initramfs(root, options, runner);
    REQUIRE(skipped);
    CHECK_FALSE(*skipped);
    CHECK(runner.calls.empty());

    fs::create_directories(root / "usr/sbin");
    REQUIRE(util::write_file_atomic(root / "usr/sbin/update-initramfs", "#!/bin/sh\n"));
    auto ran = rootfs::regenerate_initramfs(root, options, runner);
    REQUIRE(ran);
    CHECK(*ran);
    REQUIRE(runner.calls.size() == 1);
    const auto& command = runner.calls[0].command;
    CHECK(command.argv ==
          std::vector<std::string>{"/usr/sbin/update-initramfs", "-c", "-k", "6.12.0-arm64"});
    CHECK(command.env == rootfs::chroot_environment(1700000000));
    // Its scratch space is a tmpfs: nothing of it, not even /var/tmp's time, reaches the root.
    auto mounts = rootfs::chroot_mounts();
    mounts.push_back(rootfs::ChrootMount::tmp);
    CHECK(command.mounts == mounts);
    CHECK(command.log == options.log);

    // Where update-initramfs has made one before (its state file), it updates it; every
    // kernel gets its own run.
    fs::create_directories(root / "var/lib/initramfs-tools");
    REQUIRE(util::write_file_atomic(root / "var/lib/initramfs-tools/6.12.0-arm64", "sha1\n"));
    REQUIRE(util::write_file_atomic(root / "boot/vmlinuz-6.17.0-arm64", "kernel"));
    REQUIRE(rootfs::regenerate_initramfs(root, options, runner));
    REQUIRE(runner.calls.size() == 3);
    CHECK(runner.calls[1].command.argv ==
          std::vector<std::string>{"/usr/sbin/update-initramfs", "-u", "-k", "6.12.0-arm64"});
    CHECK(runner.calls[2].command.argv ==
          std::vector<std::string>{"/usr/sbin/update-initramfs", "-c", "-k", "6.17.0-arm64"});
    fs::remove(root / "boot/vmlinuz-6.17.0-arm64");

    // Its failure is the build's, with the log's tail.
    runner.exit_code = 1;
    auto failed = rootfs::regenerate_initramfs(root, options, runner);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message.find("update-initramfs failed (exit 1") != std::string::npos);

    // A root without a kernel has nothing to make an initramfs for.
    fs::remove(root / "boot/vmlinuz-6.12.0-arm64");
    runner.exit_code = 0;
    auto no_kernel = rootfs::regenerate_initramfs(root, options, runner);
    REQUIRE(no_kernel);
    CHECK_FALSE(*no_kernel);
    CHECK(runner.calls.size() == 4);
}
