// SPDX-License-Identifier: Apache-2.0
#include "builder/image/image_diff.hpp"
#include "builder/image/tar_writer.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

void make_image(const fs::path& dir, const std::string& key, mode_t key_mode) {
    const fs::path root = dir / "root";
    fs::create_directories(root / "etc/ssh");
    REQUIRE(util::write_file_atomic(root / "etc/hostname", "localhost\n"));
    REQUIRE(util::write_file_atomic(root / "etc/ssh/ssh_host_ed25519_key", key, key_mode));
    fs::create_directories(dir / "image/boot");
    REQUIRE(util::write_file_atomic(dir / "image/boot/config.txt", "arm_64bit=1\n"));
    REQUIRE(image::write_tree_tar(root, dir / "image/rootfs.tar", {1700000000}));
}

} // namespace

TEST_CASE("diff finds nothing between identical builds") {
    test::TestDir dir;
    make_image(dir.path() / "a", "key", 0600);
    make_image(dir.path() / "b", "key", 0600);
    auto diff = image::diff_images(dir.path() / "a/image", dir.path() / "b/image");
    REQUIRE(diff);
    CHECK(diff->empty());
}

TEST_CASE("diff names the artifact and the tar member that differ, and how") {
    test::TestDir dir;
    make_image(dir.path() / "a", "key one", 0600);
    make_image(dir.path() / "b", "key two", 0640);
    REQUIRE(util::write_file_atomic(dir.path() / "b/image/extra.txt", "x"));
    auto diff = image::diff_images(dir.path() / "a/image", dir.path() / "b/image");
    REQUIRE(diff);
    REQUIRE(diff->size() == 4);
    CHECK((*diff)[0].artifact == "extra.txt");
    CHECK((*diff)[0].what == "only in B");
    CHECK((*diff)[1].artifact == "rootfs.tar");
    CHECK((*diff)[1].member.empty());
    CHECK((*diff)[2].member == "./etc/ssh/ssh_host_ed25519_key");
    CHECK((*diff)[2].what == "mode 0600 vs 0640");
    CHECK((*diff)[3].what.starts_with("content differs (sha256 "));
}

TEST_CASE("diff refuses a tar it cannot read") {
    test::TestDir dir;
    make_image(dir.path() / "a", "k", 0600);
    make_image(dir.path() / "b", "k", 0600);
    REQUIRE(util::write_file_atomic(dir.path() / "b/image/rootfs.tar", "not a tar at all"));
    auto diff = image::diff_images(dir.path() / "a/image", dir.path() / "b/image");
    REQUIRE_FALSE(diff);
    CHECK(diff.error().message.find("rootfs.tar") != std::string::npos);
}
