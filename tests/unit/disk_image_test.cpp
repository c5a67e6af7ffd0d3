// SPDX-License-Identifier: Apache-2.0
// Builds real disk images with libfdisk, mkfs.vfat, mtools and mke2fs and reads them back
// with sfdisk, fsck.fat, e2fsck and debugfs.
#include "builder/image/disk_image.hpp"
#include "builder/image/tar_writer.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

util::CommandOutput run(std::vector<std::string> argv) {
    auto result = util::default_command_runner().run({std::move(argv), {}, {}, ""});
    REQUIRE(result);
    return *result;
}

struct Inputs {
    test::TestDir dir;
    fs::path boot = dir.path() / "boot";
    fs::path tar = dir.path() / "rootfs.tar";

    Inputs() {
        fs::create_directories(boot / "overlays");
        REQUIRE(util::write_file_atomic(boot / "config.txt", "arm_64bit=1\n"));
        REQUIRE(util::write_file_atomic(boot / "cmdline.txt", "root=/dev/mmcblk0p2\n"));
        REQUIRE(util::write_file_atomic(boot / "overlays/b.dtbo", "dtbo b"));
        REQUIRE(util::write_file_atomic(boot / "overlays/a.dtbo", "dtbo a"));
        const fs::path root = dir.path() / "root";
        fs::create_directories(root / "etc");
        REQUIRE(util::write_file_atomic(root / "etc/hostname", "uhs\n"));
        REQUIRE(image::write_tree_tar(root, tar, {1700000000}));
    }

    image::DiskImageOptions options() const {
        image::DiskImageOptions o;
        o.boot_size = 64 << 20;
        o.root_size = 32 << 20;
        o.source_date_epoch = 1700000000;
        o.ids = image::DiskIds::from_image_id("0123456789abcdef");
        return o;
    }
};

} // namespace

TEST_CASE("disk ids derive from the image-id") {
    const auto a = image::DiskIds::from_image_id("aa");
    CHECK(a.disk_id == image::DiskIds::from_image_id("aa").disk_id);
    CHECK(a.disk_id != image::DiskIds::from_image_id("ab").disk_id);
    CHECK(a.ext4_uuid.size() == 36);
    CHECK(a.ext4_uuid[14] == '4');
    CHECK(a.ext4_uuid != a.ext4_hash_seed);
}

TEST_CASE("a disk image is an MBR with FAT32 boot and ext4 root, readable by the real tools") {
    auto& runner = util::default_command_runner();
    if (!image::check_mke2fs(runner)) {
        FAIL("mke2fs >= 1.47.1 is required (bash .ci/deps installs it): "
             << image::check_mke2fs(runner).error().message);
    }
    Inputs in;
    const fs::path img = in.dir.path() / "disk.img";
    auto layout = image::write_disk_image(in.boot, in.tar, img, in.options(), runner);
    REQUIRE(layout);
    CHECK(layout->boot_offset == 1 << 20);
    CHECK(layout->root_offset == (1 << 20) + (64 << 20));
    CHECK(fs::file_size(img) == layout->total_size);

    const auto table = run({"sfdisk", "--dump", img.string()});
    REQUIRE(table.exit_code == 0);
    char label[32];
    std::snprintf(label, sizeof label, "label-id: 0x%08x", in.options().ids.disk_id);
    CHECK(table.out.find(label) != std::string::npos);
    CHECK(table.out.find("start=        2048, size=      131072, type=c, bootable") !=
          std::string::npos);
    CHECK(table.out.find("start=      133120, size=       65536, type=83") != std::string::npos);

    // FAT: extract the partition and let fsck.fat and mtools read it.
    const fs::path fat = in.dir.path() / "boot.fat";
    REQUIRE(run({"dd", "if=" + img.string(), "of=" + fat.string(), "bs=1M", "skip=1", "count=64",
                 "status=none"})
                .exit_code == 0);
    const auto fsck_fat = run({"fsck.fat", "-n", fat.string()});
    CHECK(fsck_fat.exit_code == 0);
    auto listing = util::default_command_runner().run(
        {{"mdir", "-b", "-i", fat.string(), "::/overlays"}, {}, {"MTOOLS_SKIP_CHECK=1"}, ""});
    REQUIRE(listing);
    CHECK(listing->out == "::/overlays/a.dtbo\n::/overlays/b.dtbo\n");

    // ext4 at its offset.
    const std::string ext4 = img.string() + "?offset=" + std::to_string(layout->root_offset);
    const auto fsck_ext4 = run({"e2fsck", "-fn", ext4});
    CHECK(fsck_ext4.exit_code == 0);
    const auto hostname = run({"debugfs", "-R", "cat /etc/hostname", ext4});
    CHECK(hostname.out == "uhs\n");
}

TEST_CASE("the same inputs give the same disk image bytes") {
    auto& runner = util::default_command_runner();
    if (!image::check_mke2fs(runner)) {
        FAIL(image::check_mke2fs(runner).error().message);
    }
    Inputs in;
    // Between the builds the boot files' mtimes move by a day (a rebuild on another day, a
    // fresh checkout): nothing of them may reach the image.
    const auto touch_boot_files = [&](fs::file_time_type when) {
        for (const auto& entry : fs::recursive_directory_iterator(in.boot)) {
            fs::last_write_time(entry.path(), when);
        }
    };
    const auto now = fs::file_time_type::clock::now();
    touch_boot_files(now - std::chrono::hours(24));
    REQUIRE(
        image::write_disk_image(in.boot, in.tar, in.dir.path() / "a.img", in.options(), runner));
    touch_boot_files(now);
    const mode_t old_umask = ::umask(077);
    auto second =
        image::write_disk_image(in.boot, in.tar, in.dir.path() / "b.img", in.options(), runner);
    ::umask(old_umask);
    REQUIRE(second);
    CHECK(*util::sha256_file_hex(in.dir.path() / "a.img") ==
          *util::sha256_file_hex(in.dir.path() / "b.img"));
}

TEST_CASE("a failing tool leaves no image behind and names the tool") {
    Inputs in;
    struct FailingMkfs final : util::CommandRunner {
        util::Result<util::CommandOutput> run(const util::Command& c) override {
            if (c.argv[0] == "mkfs.vfat") {
                return util::CommandOutput{1, "", "mkfs.fat: boom\nsecond line\n"};
            }
            return util::default_command_runner().run(c);
        }
    } runner;
    if (!image::check_mke2fs(runner)) {
        FAIL(image::check_mke2fs(runner).error().message);
    }
    auto result =
        image::write_disk_image(in.boot, in.tar, in.dir.path() / "disk.img", in.options(), runner);
    REQUIRE_FALSE(result);
    CHECK(result.error().message == "mkfs.vfat failed (exit 1): mkfs.fat: boom");
    const auto names = util::list_dir_sorted(in.dir.path());
    REQUIRE(names);
    for (const auto& name : *names) {
        CHECK(name.find("disk.img") == std::string::npos);
    }
}

TEST_CASE("an old mke2fs is refused with the way out") {
    struct OldMke2fs final : util::CommandRunner {
        util::Result<util::CommandOutput> run(const util::Command&) override {
            return util::CommandOutput{0, "", "mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS\n"};
        }
    } runner;
    auto status = image::check_mke2fs(runner);
    REQUIRE_FALSE(status);
    CHECK(status.error().message.find("mke2fs 1.47.0 cannot build ext4 from a tar") == 0);
    CHECK(status.error().message.find("bookworm-backports") != std::string::npos);
}

TEST_CASE("the disk's own boot files join boot/ at the FAT's top level; a clash is refused") {
    auto& runner = util::default_command_runner();
    if (!image::check_mke2fs(runner)) {
        FAIL(image::check_mke2fs(runner).error().message);
    }
    Inputs in;
    fs::remove(in.boot / "config.txt");
    fs::remove(in.boot / "cmdline.txt");
    const fs::path extra = in.dir.path() / "disk-boot";
    fs::create_directories(extra);
    REQUIRE(util::write_file_atomic(extra / "config.txt", "[pi5]\nkernel=kernel_2712.img\n"));
    REQUIRE(util::write_file_atomic(extra / "cmdline.txt", "root=PARTUUID=01234567-02\n"));
    auto options = in.options();
    options.extra_boot_dir = extra;
    const fs::path img = in.dir.path() / "disk.img";
    REQUIRE(image::write_disk_image(in.boot, in.tar, img, options, runner));
    const std::string fat = img.string() + "@@" + std::to_string(1 << 20);
    auto listing = runner.run({{"mdir", "-b", "-i", fat, "::/"}, {}, {"MTOOLS_SKIP_CHECK=1"}, ""});
    REQUIRE(listing);
    CHECK(listing->out == "::/overlays/\n::/cmdline.txt\n::/config.txt\n");
    auto cmdline =
        runner.run({{"mtype", "-i", fat, "::cmdline.txt"}, {}, {"MTOOLS_SKIP_CHECK=1"}, ""});
    REQUIRE(cmdline);
    CHECK(cmdline->out == "root=PARTUUID=01234567-02\n");

    REQUIRE(util::write_file_atomic(in.boot / "config.txt", "arm_64bit=1\n"));
    auto clash =
        image::write_disk_image(in.boot, in.tar, in.dir.path() / "clash.img", options, runner);
    REQUIRE_FALSE(clash);
    CHECK(clash.error().message.find(" hold config.txt: the boot partition can take only one") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(in.dir.path() / "clash.img"));
}

TEST_CASE("the root PARTUUID is the MBR disk id and partition 2") {
    image::DiskIds ids;
    ids.disk_id = 0x00ab12cd;
    CHECK(image::root_partuuid(ids) == "00ab12cd-02");
}
