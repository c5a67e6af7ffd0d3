// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/normalize.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

using namespace uhs;
namespace fs = std::filesystem;

TEST_CASE("normalisation removes build leftovers and per-build identity, and nothing else") {
    test::TestDir dir;
    const fs::path root = dir.path() / "root";
    for (const char* d :
         {"var/log/apt", "var/lib/dpkg", "etc/ssh", "tmp/sub", "var/lib/apt/lists/partial"}) {
        fs::create_directories(root / d);
    }
    for (const char* f :
         {"var/log/dpkg.log", "var/log/apt/term.log", "var/log/keep.log", "var/lib/dpkg/status",
          "var/lib/dpkg/status-old", "etc/passwd", "etc/passwd-", "etc/ssh/ssh_host_ed25519_key",
          "etc/ssh/ssh_host_ed25519_key.pub", "etc/ssh/sshd_config", "tmp/x",
          "var/lib/apt/lists/mirror_Packages", "etc/machine-id", "etc/hostname"}) {
        REQUIRE(util::write_file_atomic(root / f, std::string("content of ") + f));
    }
    auto report = rootfs::normalize_rootfs(root);
    REQUIRE(report);
    CHECK(report->removed ==
          std::vector<std::string>{
              "/var/log/dpkg.log", "/var/log/apt/term.log", "/var/lib/dpkg/status-old",
              "/etc/passwd-", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub",
              "/var/lib/apt/lists/mirror_Packages", "/tmp/x"});
    for (const char* kept : {"var/log/keep.log", "var/lib/dpkg/status", "etc/passwd",
                             "etc/ssh/sshd_config", "tmp/sub", "var/lib/apt/lists/partial"}) {
        INFO(kept);
        CHECK(fs::exists(root / kept));
    }
    CHECK(*util::read_file(root / "etc/machine-id") == "");
    CHECK(*util::read_file(root / "etc/hostname") == "localhost\n");
}

TEST_CASE("normalisation does not follow a symlinked /etc/hostname out of the root") {
    test::TestDir dir;
    const fs::path root = dir.path() / "root";
    fs::create_directories(root / "etc");
    REQUIRE(util::write_file_atomic(dir.path() / "host-hostname", "workstation\n"));
    fs::create_symlink(dir.path() / "host-hostname", root / "etc/hostname");
    REQUIRE(rootfs::normalize_rootfs(root));
    CHECK(*util::read_file(dir.path() / "host-hostname") == "workstation\n");
    CHECK_FALSE(fs::is_symlink(root / "etc/hostname"));
}
