// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/overlay.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

} // namespace

TEST_CASE("an overlay replaces files whole, with normalised modes and the given mtime") {
    test::TestDir dir;
    const fs::path overlay = dir.path() / "overlay";
    const fs::path root = dir.path() / "root";
    fs::create_directories(overlay / "etc/containerd");
    fs::create_directories(overlay / "usr/local/bin");
    fs::create_directories(root / "etc");
    REQUIRE(util::write_file_atomic(overlay / "etc/containerd/config.toml", "version = 2\n", 0600));
    REQUIRE(util::write_file_atomic(overlay / "usr/local/bin/tool", "#!/bin/sh\n", 0700));
    fs::create_symlink("containerd/config.toml", overlay / "etc/link");
    REQUIRE(util::write_file_atomic(root / "etc/link", "was a file"));

    auto paths = rootfs::apply_overlay(overlay, root, 1700000000);
    REQUIRE(paths);
    CHECK(*paths == std::vector<std::string>{"/etc/containerd/config.toml", "/etc/link",
                                             "/usr/local/bin/tool"});
    CHECK(*util::read_file(root / "etc/containerd/config.toml") == "version = 2\n");
    CHECK(mode_of(root / "etc/containerd/config.toml") == 0644);
    CHECK(mode_of(root / "usr/local/bin/tool") == 0755);
    CHECK(mode_of(root / "usr/local") == 0755);
    CHECK(fs::read_symlink(root / "etc/link") == "containerd/config.toml");
    CHECK(fs::last_write_time(root / "etc/containerd/config.toml") ==
          fs::file_time_type::clock::from_sys(
              std::chrono::sys_seconds{std::chrono::seconds{1700000000}}));
}

TEST_CASE("an overlay never writes through a symlink of the root") {
    test::TestDir dir;
    const fs::path overlay = dir.path() / "overlay";
    const fs::path root = dir.path() / "root";
    fs::create_directories(overlay / "bin");
    fs::create_directories(root / "usr/bin");
    fs::create_directories(dir.path() / "outside");
    REQUIRE(util::write_file_atomic(overlay / "bin/tool", "x"));
    fs::create_symlink(dir.path() / "outside", root / "bin");
    auto result = rootfs::apply_overlay(overlay, root, 0);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("'bin' is a symlink or not a directory") !=
          std::string::npos);
    CHECK(fs::is_empty(dir.path() / "outside"));
}

TEST_CASE("an overlay file may not replace a directory of the root") {
    test::TestDir dir;
    const fs::path overlay = dir.path() / "overlay";
    const fs::path root = dir.path() / "root";
    fs::create_directories(overlay);
    fs::create_directories(root / "etc");
    REQUIRE(util::write_file_atomic(overlay / "etc", "x"));
    auto result = rootfs::apply_overlay(overlay, root, 0);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("would replace a directory") != std::string::npos);
    CHECK(fs::is_directory(root / "etc"));
}
