// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fs.hpp"
#include "netboot/tftp/tree.hpp"
#include "test_support.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include <sys/stat.h>

using namespace uhs;
using netboot::tftp::Tree;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& file, const std::string& data) {
    fs::create_directories(file.parent_path());
    REQUIRE(util::write_file_atomic(file, data));
}

// An image in the layout of `uhs-image build`: boot/ shared, nodes/<dir>/ per node.
void make_image(const fs::path& images, const std::string& id, const std::string& dir) {
    put(images / id / "boot" / "kernel_2712.img", "kernel " + id);
    put(images / id / "boot" / "initramfs_2712", "initrd " + id);
    put(images / id / "boot" / "overlays" / "a.dtbo", "dtbo " + id);
    put(images / id / "nodes" / dir / "config.txt", "config " + id);
    put(images / id / "nodes" / dir / "cmdline.txt", "cmd " + id);
}

std::string read(const fs::path& p) {
    return util::read_file(p).value_or("<missing>");
}

} // namespace

TEST_CASE("tree publishes, switches and rolls back a node directory atomically") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "a1b2c3d4");
    make_image(images, "img-b", "a1b2c3d4");
    const Tree tree(dir.path() / "tftproot");
    REQUIRE(tree.prepare());
    CHECK(fs::exists(tree.root() / Tree::k_health_file));

    REQUIRE(tree.import_image(images, "img-a"));
    REQUIRE(tree.switch_directory("a1b2c3d4", "img-a"));
    const fs::path node = tree.root() / "a1b2c3d4";
    CHECK(fs::is_symlink(node));
    CHECK(fs::read_symlink(node) == ".images/img-a/nodes/a1b2c3d4");
    CHECK(read(node / "config.txt") == "config img-a");
    CHECK(read(node / "kernel_2712.img") == "kernel img-a");
    CHECK(read(node / "overlays" / "a.dtbo") == "dtbo img-a");
    // Shared files are referenced, not duplicated, per node.
    CHECK(fs::is_symlink(tree.root() / ".images/img-a/nodes/a1b2c3d4/kernel_2712.img"));
    // World-readable, as in.tftpd requires.
    CHECK((fs::status(node / "kernel_2712.img").permissions() & fs::perms::others_read) !=
          fs::perms::none);
    CHECK(tree.current_image("a1b2c3d4") == "img-a");
    CHECK_FALSE(tree.previous_image("a1b2c3d4"));
    CHECK_FALSE(tree.rollback_directory("a1b2c3d4"));

    REQUIRE(tree.import_image(images, "img-b"));
    REQUIRE(tree.switch_directory("a1b2c3d4", "img-b"));
    CHECK(read(node / "kernel_2712.img") == "kernel img-b");
    CHECK(tree.previous_image("a1b2c3d4") == "img-a");

    auto back = tree.rollback_directory("a1b2c3d4");
    REQUIRE(back);
    CHECK(*back == "img-a");
    CHECK(read(node / "cmdline.txt") == "cmd img-a");
    CHECK(tree.previous_image("a1b2c3d4") == "img-b");
    CHECK(tree.imported_images() == std::vector<std::string>{"img-a", "img-b"});
    // No temporary files are left behind.
    for (const auto& e : fs::directory_iterator(tree.root())) {
        CHECK(e.path().filename().string().rfind(".tmp-", 0) != 0);
    }
}

TEST_CASE("tree refuses bad names and missing images") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "a1b2c3d4");
    const Tree tree(dir.path() / "tftproot");
    CHECK(tree.import_image(images, "../x").error().code == util::Errc::invalid_input);
    CHECK(tree.import_image(images, "nope").error().code == util::Errc::not_found);
    REQUIRE(tree.import_image(images, "img-a"));
    CHECK(tree.switch_directory("2c-cf-67-00-00-09", "img-a").error().code ==
          util::Errc::not_found);
    CHECK(tree.switch_directory("../etc", "img-a").error().code == util::Errc::invalid_input);
    CHECK_FALSE(fs::exists(tree.root() / "2c-cf-67-00-00-09"));
    auto ids = netboot::tftp::list_images(images);
    REQUIRE(ids);
    CHECK(*ids == std::vector<std::string>{"img-a"});
}

TEST_CASE("tree switch never exposes a half-made link to a concurrent reader") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "d1");
    make_image(images, "img-b", "d1");
    const Tree tree(dir.path() / "tftproot");
    REQUIRE(tree.import_image(images, "img-a"));
    REQUIRE(tree.import_image(images, "img-b"));
    REQUIRE(tree.switch_directory("d1", "img-a"));
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::thread reader([&] {
        while (!done) {
            const std::string k = read(tree.root() / "d1" / "kernel_2712.img");
            if (k != "kernel img-a" && k != "kernel img-b") {
                ++bad;
            }
        }
    });
    for (int i = 0; i < 200; ++i) {
        REQUIRE(tree.switch_directory("d1", i % 2 == 0 ? "img-b" : "img-a"));
    }
    done = true;
    reader.join();
    CHECK(bad == 0);
}

TEST_CASE("remap rules collapse double slashes") {
    const std::string rules = netboot::tftp::remap_rules();
    CHECK(rules.find("rg //+ /") != std::string::npos);
}

TEST_CASE("imported images are world-readable under a strict umask") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "a1b2c3d4");
    const Tree tree(dir.path() / "tftproot");
    const mode_t old = ::umask(077);
    const auto imported = tree.import_image(images, "img-a");
    ::umask(old);
    REQUIRE(imported);
    for (const fs::path& d :
         {tree.root(), tree.root() / ".images", tree.root() / ".images/img-a",
          tree.root() / ".images/img-a/boot", tree.root() / ".images/img-a/boot/overlays",
          tree.root() / ".images/img-a/nodes", tree.root() / ".images/img-a/nodes/a1b2c3d4"}) {
        INFO(d.string());
        CHECK((fs::status(d).permissions() & fs::perms::all) == static_cast<fs::perms>(0755));
    }
}

TEST_CASE("a switch recorded while a pending one is applied waits for the next boot") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "a1b2c3d4");
    make_image(images, "img-b", "a1b2c3d4");
    const Tree tree(dir.path() / "tftproot");
    REQUIRE(tree.import_image(images, "img-a"));
    REQUIRE(tree.import_image(images, "img-b"));
    REQUIRE(tree.switch_directory("a1b2c3d4", "img-a"));
    REQUIRE(tree.set_pending("a1b2c3d4", "img-b"));
    // `uhs-netboot rollback` lands between the daemon's switch and its cleanup.
    auto applied =
        tree.apply_pending("a1b2c3d4", [&] { REQUIRE(tree.set_pending("a1b2c3d4", "img-a")); });
    REQUIRE(applied);
    CHECK(*applied == "img-b");
    CHECK(tree.current_image("a1b2c3d4") == "img-b");
    CHECK(tree.pending_image("a1b2c3d4") == "img-a"); // not lost
    auto next = tree.apply_pending("a1b2c3d4");
    REQUIRE(next);
    CHECK(*next == "img-a");
    CHECK_FALSE(tree.pending_image("a1b2c3d4"));
    CHECK_FALSE(fs::exists(fs::symlink_status(tree.root() / ".a1b2c3d4.applying")));

    // A claim a crash left behind is applied by the next call.
    fs::create_symlink(".images/img-b/nodes/a1b2c3d4", tree.root() / ".a1b2c3d4.applying");
    auto recovered = tree.apply_pending("a1b2c3d4");
    REQUIRE(recovered);
    CHECK(*recovered == "img-b");
    CHECK(tree.current_image("a1b2c3d4") == "img-b");
}

TEST_CASE("an imported image gains the node directories a module swap added, boot/ untouched") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a", "a1b2c3d4");
    const Tree tree(dir.path() / "tftproot");
    REQUIRE(tree.import_image(images, "img-a"));
    // `enroll` of a new module, then `build`: same image-id, a new serial directory.
    put(images / "img-a" / "nodes" / "deadbeef" / "config.txt", "config swapped");
    put(images / "img-a" / "nodes" / "deadbeef" / "cmdline.txt", "cmd swapped");
    put(images / "img-a" / "boot" / "kernel_2712.img", "a changed kernel must not be copied");
    REQUIRE(tree.import_image(images, "img-a"));
    const fs::path imported = tree.root() / ".images/img-a";
    CHECK(read(imported / "nodes/deadbeef/cmdline.txt") == "cmd swapped");
    CHECK(fs::is_symlink(imported / "nodes/deadbeef/kernel_2712.img"));
    CHECK(read(imported / "nodes/deadbeef/kernel_2712.img") == "kernel img-a");
    CHECK(read(imported / "nodes/a1b2c3d4/cmdline.txt") == "cmd img-a");
    REQUIRE(tree.switch_directory("deadbeef", "img-a"));
    CHECK(read(tree.root() / "deadbeef" / "config.txt") == "config swapped");
    const auto names = util::list_dir_sorted(imported / "nodes");
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"a1b2c3d4", "deadbeef"});
}

TEST_CASE("tftp tree: a served file's size is looked up as in.tftpd's chroot sees it") {
    test::TestDir dir;
    const fs::path root = dir.path() / "tftproot";
    fs::create_directories(root / "10000001");
    REQUIRE(util::write_file_atomic(root / "10000001/kernel_2712.img", "kernel"));
    REQUIRE(util::write_file_atomic(dir.path() / "secret", "outside the tree, 29 bytes...."));
    fs::create_directory_symlink("10000001", root / "2c-cf-67-00-00-01");
    fs::create_symlink("/secret", root / "10000001/abs-link"); // absolute: the tree's own root
    fs::create_symlink("../../secret", root / "10000001/up-link");
    REQUIRE(::mkfifo((root / "10000001/fifo").c_str(), 0600) == 0);
    const netboot::tftp::Tree tree(root);
    CHECK(tree.served_size("10000001/kernel_2712.img") == 6u);
    CHECK(tree.served_size("/2c-cf-67-00-00-01/kernel_2712.img") == 6u); // through a link
    // Before: fs::file_size(root / path) gave the host file's size for each of these.
    CHECK(tree.served_size("../secret") == std::nullopt);
    CHECK(tree.served_size("10000001/../../secret") == std::nullopt);
    CHECK(tree.served_size("10000001/abs-link") == std::nullopt);
    CHECK(tree.served_size("10000001/up-link") == std::nullopt);
    CHECK(tree.served_size("10000001/fifo") == std::nullopt); // not opened, not waited on
    CHECK(tree.served_size("10000001") == std::nullopt);
    CHECK(tree.served_size("") == std::nullopt);
}
