// SPDX-License-Identifier: Apache-2.0
// `uhs-image verify`: the manifest check on real files, the disk checks against a fake
// inspector that serves tars (so every branch is exercised without an appliance), and one
// hidden [guestfs] case that opens a real disk image with libguestfs (run by the
// "system: verify-guestfs" test, which skips when the machine cannot start an appliance).
#include "builder/image/disk_image.hpp"
#include "builder/image/manifest.hpp"
#include "builder/image/tar_writer.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/subprocess.hpp"
#include "builder/verify/verify.hpp"
#include "tests/unit/test_support.hpp"

#include <map>

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k_epoch = 1700000000;

// out/<id>/ as build writes it: boot/ (with a link, as node trees have), rootfs.tar, and a
// manifest listing them (plus disk.img when `disk` is set, whose bytes the fake ignores).
struct ImageDir {
    test::TestDir dir;
    fs::path image = dir.path() / "image";
    fs::path root = dir.path() / "root";

    explicit ImageDir(bool disk) {
        fs::create_directories(image / "boot/overlays");
        REQUIRE(util::write_file_atomic(image / "boot/config.txt", "arm_64bit=1\n"));
        REQUIRE(util::write_file_atomic(image / "boot/overlays/a.dtbo", "dtbo a"));
        fs::create_symlink("config.txt", image / "boot/config-link.txt");
        fs::create_directories(root / "etc");
        REQUIRE(util::write_file_atomic(root / "etc/hostname", "localhost\n"));
        ::chmod((root / "etc/hostname").c_str(), 0644);
        REQUIRE(image::write_tree_tar(root, image / "rootfs.tar", {k_epoch}));
        if (disk) {
            REQUIRE(util::write_file_atomic(image / "disk.img", "not read by the fake"));
        }
        write_manifest();
    }

    void write_manifest() const {
        auto manifest = image::make_manifest(image, image::ImageIdInputs{});
        REQUIRE(manifest);
        REQUIRE(util::write_file_atomic(image / "manifest.json", manifest->dump(2)));
    }

    // The boot partition as a tar: boot/ with links resolved, as mcopy writes it.
    // `extra`: more top-level files, as disk-boot/ adds them.
    fs::path boot_tar(const std::string& config_text = "arm_64bit=1\n",
                      const std::map<std::string, std::string>& extra = {}) const {
        const fs::path tree = dir.path() / "fat";
        fs::remove_all(tree);
        fs::create_directories(tree / "overlays");
        for (const auto& [name, text] : extra) {
            REQUIRE(util::write_file_atomic(tree / name, text));
        }
        REQUIRE(util::write_file_atomic(tree / "config.txt", config_text));
        REQUIRE(util::write_file_atomic(tree / "config-link.txt", config_text));
        REQUIRE(util::write_file_atomic(tree / "overlays/a.dtbo", "dtbo a"));
        const fs::path out = dir.path() / "fat.tar";
        REQUIRE(image::write_tree_tar(tree, out, {k_epoch}));
        return out;
    }

    // The root filesystem as a tar: the rootfs tree plus mke2fs's lost+found.
    fs::path root_tar(unsigned hostname_mode = 0644) const {
        fs::create_directories(root / "lost+found");
        ::chmod((root / "etc/hostname").c_str(), hostname_mode);
        const fs::path out = dir.path() / "ext4.tar";
        REQUIRE(image::write_tree_tar(root, out, {k_epoch}));
        fs::remove(root / "lost+found");
        ::chmod((root / "etc/hostname").c_str(), 0644);
        return out;
    }
};

class FakeInspector final : public image::DiskInspector {
public:
    std::vector<image::GuestPartition> parts{{"/dev/sda1", 1, 0x0c, "vfat", "BOOT"},
                                             {"/dev/sda2", 2, 0x83, "ext4", "rootfs"}};
    fs::path boot_tar, root_tar;
    std::string fsck_error; // for the partition named in fsck_device
    std::string fsck_device;

    util::Result<std::vector<image::GuestPartition>> partitions() override { return parts; }
    util::Status check_filesystem(const image::GuestPartition& p) override {
        if (p.device == fsck_device) {
            return util::fail(util::Errc::failed, fsck_error);
        }
        return {};
    }
    util::Status tar_out(const image::GuestPartition& p, const fs::path& out) override {
        fs::copy_file(p.number == 1 ? boot_tar : root_tar, out);
        return {};
    }
};

image::InspectorFactory serve(std::shared_ptr<FakeInspector> fake) {
    return [fake](const fs::path&) -> util::Result<std::unique_ptr<image::DiskInspector>> {
        auto copy = std::make_unique<FakeInspector>(*fake);
        return copy;
    };
}

image::InspectorFactory never_called() {
    return [](const fs::path&) -> util::Result<std::unique_ptr<image::DiskInspector>> {
        FAIL("the disk was opened although the manifest lists no disk.img");
        return util::fail(util::Errc::failed, "unreachable");
    };
}

const image::VerifyCheck* find(const image::VerifyReport& report, const std::string& what) {
    for (const auto& c : report.checks) {
        if (c.what == what) {
            return &c;
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("verify: an untouched image matches its manifest") {
    ImageDir dir(false);
    auto report = image::verify_image(dir.image, never_called());
    REQUIRE(report);
    CHECK(report->ok());
    const auto* files = find(*report, "manifest: files");
    REQUIRE(files);
    CHECK(files->detail ==
          "4 of 4 files match (size and SHA-256, or link target)"); // the link by its target
}

TEST_CASE("verify: a changed, a missing and an unlisted file are each named") {
    ImageDir dir(false);
    REQUIRE(util::write_file_atomic(dir.image / "boot/config.txt", "arm_64bit=0\n"));
    fs::remove(dir.image / "boot/overlays/a.dtbo");
    REQUIRE(util::write_file_atomic(dir.image / "boot/stray.txt", "x"));
    auto report = image::verify_image(dir.image, never_called());
    REQUIRE(report);
    CHECK_FALSE(report->ok());
    const auto* changed = find(*report, "manifest: boot/config.txt");
    REQUIRE(changed);
    CHECK_FALSE(changed->ok);
    CHECK(changed->detail.find("sha256") != std::string::npos);
    const auto* missing = find(*report, "manifest: boot/overlays/a.dtbo");
    REQUIRE(missing);
    CHECK(missing->detail == "listed but missing");
    const auto* stray = find(*report, "manifest: boot/stray.txt");
    REQUIRE(stray);
    CHECK(stray->detail == "present but not listed");
}

TEST_CASE("verify: no manifest, or a broken one, is an error naming the file") {
    test::TestDir dir;
    auto none = image::verify_image(dir.path(), never_called());
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("manifest.json: cannot read") != std::string::npos);
    REQUIRE(util::write_file_atomic(dir.path() / "manifest.json", "{\"files\": [{\"x\": 1}]}"));
    auto broken = image::verify_image(dir.path(), never_called());
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("files[0].path: missing") != std::string::npos);
}

TEST_CASE("verify: disk.img checked from the inside") {
    ImageDir dir(true);
    auto fake = std::make_shared<FakeInspector>();
    fake->boot_tar = dir.boot_tar();
    fake->root_tar = dir.root_tar();

    SECTION("a faithful disk passes every check, lost+found aside") {
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        for (const auto& c : report->checks) {
            INFO(c.what << ": " << c.detail);
            CHECK(c.ok);
        }
        CHECK(report->checks.size() == 6); // files, layout, 2 x fsck, boot files, root
    }
    SECTION("a boot file that differs from boot/ is named") {
        fake->boot_tar = dir.boot_tar("arm_64bit=0\n");
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        const auto* boot = find(*report, "disk.img: boot partition files");
        REQUIRE(boot);
        CHECK_FALSE(boot->ok);
        CHECK(boot->detail.find("config.txt: content differs from boot/config.txt") !=
              std::string::npos);
    }
    SECTION("disk-boot/ files belong on the partition, and are missed when absent") {
        fs::create_directories(dir.image / "disk-boot");
        REQUIRE(util::write_file_atomic(dir.image / "disk-boot/cmdline.txt", "root=PARTUUID=x\n"));
        dir.write_manifest();
        fake->boot_tar = dir.boot_tar("arm_64bit=1\n", {{"cmdline.txt", "root=PARTUUID=x\n"}});
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        const auto* boot = find(*report, "disk.img: boot partition files");
        REQUIRE(boot);
        CHECK(boot->ok);
        CHECK(boot->detail == "4 files match boot/ and disk-boot/");

        fake->boot_tar = dir.boot_tar();
        auto missing = image::verify_image(dir.image, serve(fake));
        REQUIRE(missing);
        boot = find(*missing, "disk.img: boot partition files");
        REQUIRE(boot);
        CHECK_FALSE(boot->ok);
        CHECK(boot->detail ==
              "disk-boot/cmdline.txt: in the manifest but not on the boot partition");
    }
    SECTION("a root member whose mode differs from rootfs.tar is named") {
        fake->root_tar = dir.root_tar(0600);
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        const auto* root = find(*report, "disk.img: root filesystem vs rootfs.tar");
        REQUIRE(root);
        CHECK_FALSE(root->ok);
        CHECK(root->detail.find("etc/hostname: mode 0644 vs 0600") != std::string::npos);
    }
    SECTION("an fsck failure fails the check with the checker's message") {
        fake->fsck_device = "/dev/sda2";
        fake->fsck_error = "e2fsck -f /dev/sda2: inode 12 has a bad extent";
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        const auto* fsck = find(*report, "disk.img: fsck partition 2 (ext4)");
        REQUIRE(fsck);
        CHECK_FALSE(fsck->ok);
        CHECK(fsck->detail == fake->fsck_error);
        CHECK_FALSE(report->ok());
    }
    SECTION("a wrong partition table stops before the contents") {
        fake->parts[1].fs_type = "xfs";
        auto report = image::verify_image(dir.image, serve(fake));
        REQUIRE(report);
        const auto* layout = find(*report, "disk.img: partitions");
        REQUIRE(layout);
        CHECK_FALSE(layout->ok);
        CHECK(layout->detail.find("2: 0x83 xfs 'rootfs'") != std::string::npos);
        CHECK_FALSE(find(*report, "disk.img: boot partition files"));
    }
}

// Needs a host kernel for the appliance and several seconds under TCG: run on its own by
// tests/system/verify_guestfs.sh.
TEST_CASE("verify: a real disk image through libguestfs", "[.guestfs]") {
    ImageDir dir(false);
    image::DiskImageOptions options;
    options.boot_size = 64 << 20;
    options.root_size = 32 << 20;
    options.source_date_epoch = k_epoch;
    options.ids = image::DiskIds::from_image_id("0123456789abcdef");
    fs::create_directories(dir.image / "disk-boot");
    REQUIRE(util::write_file_atomic(dir.image / "disk-boot/cmdline.txt",
                                    "root=PARTUUID=" + image::root_partuuid(options.ids) + "\n"));
    options.extra_boot_dir = dir.image / "disk-boot";
    REQUIRE(image::write_disk_image(dir.image / "boot", dir.image / "rootfs.tar",
                                    dir.image / "disk.img", options,
                                    util::default_command_runner()));
    dir.write_manifest();

    auto report = image::verify_image(dir.image, image::open_with_guestfs);
    REQUIRE(report);
    for (const auto& c : report->checks) {
        INFO(c.what << ": " << c.detail);
        CHECK(c.ok);
    }
    CHECK(report->checks.size() == 6);

    // A file changed inside the FAT (mtools writes at the partition's offset): both the
    // manifest's hash of disk.img and the inside view catch it.
    const fs::path replacement = dir.dir.path() / "config.txt";
    REQUIRE(util::write_file_atomic(replacement, "arm_64bit=0\n"));
    auto layout = util::default_command_runner().run(
        {{"sfdisk", "--dump", (dir.image / "disk.img").string()}, {}, {}, ""});
    REQUIRE(layout);
    const auto start = layout->out.find("start=");
    REQUIRE(start != std::string::npos);
    const std::uint64_t sector = std::stoull(layout->out.substr(start + 6));
    const std::string target =
        (dir.image / "disk.img").string() + "@@" + std::to_string(sector * 512);
    auto copied = util::default_command_runner().run(
        {{"mcopy", "-o", "-i", target, replacement.string(), "::/config.txt"},
         {},
         {"MTOOLS_SKIP_CHECK=1"},
         ""});
    REQUIRE(copied);
    REQUIRE(copied->exit_code == 0);
    auto tampered = image::verify_image(dir.image, image::open_with_guestfs);
    REQUIRE(tampered);
    CHECK_FALSE(tampered->ok());
    const auto* disk = find(*tampered, "manifest: disk.img");
    REQUIRE(disk);
    CHECK_FALSE(disk->ok);
    const auto* boot = find(*tampered, "disk.img: boot partition files");
    REQUIRE(boot);
    CHECK_FALSE(boot->ok);
    CHECK(boot->detail.find("config.txt: content differs") != std::string::npos);
}
