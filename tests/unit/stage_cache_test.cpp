// SPDX-License-Identifier: Apache-2.0
#include "builder/image/stage_cache.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/archive_support.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

const std::string k_version = "6.17.8+deb13-arm64";
const std::string k_key = std::string(64, 'e');

void put(const fs::path& path, const std::string& bytes, unsigned mode = 0644) {
    fs::create_directories(path.parent_path());
    REQUIRE(util::write_file_atomic(path, bytes, mode));
}

// A root as the build has it after the overlays: a kernel, the initramfs update-initramfs
// made (holding the hook's copy of usr/sbin/iscsid), its state file, and the overlays' files.
struct Fixture {
    test::TestDir dir;
    fs::path root = dir.path() / "root";
    image::StageCache cache{dir.path() / "stages"};
    const std::vector<std::string> overlaid = {"/etc/motd", "/etc/initramfs-tools/hooks/uhs",
                                               "/usr/sbin/iscsid", "/etc/systemd/system/x.service"};
    std::string initrd = test::make_cpio(
        {{"init", "#!/bin/sh\n"}, {"usr/sbin/iscsid", "iscsid v1"}}, ARCHIVE_FILTER_ZSTD);

    Fixture() {
        put(root / "boot" / ("vmlinuz-" + k_version), "kernel");
        put(root / "boot" / ("initrd.img-" + k_version), initrd);
        put(root / "var/lib/initramfs-tools" / k_version, "sha1 of it\n");
        put(root / "etc/motd", "hello\n");
        put(root / "etc/initramfs-tools/hooks/uhs", "#!/bin/sh\n", 0755);
        put(root / "usr/sbin/iscsid", "iscsid v1", 0755);
        put(root / "etc/systemd/system/x.service", "[Service]\n");
    }

    // The same root before update-initramfs ran: what a later build has to restore into.
    void forget_initramfs() {
        fs::remove(root / "boot" / ("initrd.img-" + k_version));
        fs::remove_all(root / "var/lib/initramfs-tools");
    }

    bool restore() {
        auto restored = cache.restore_initramfs(k_key, root, overlaid);
        REQUIRE(restored);
        return *restored;
    }
};

} // namespace

TEST_CASE("an overlay file may reach the initramfs unless it is where no hook looks") {
    CHECK(image::initramfs_may_read("etc/initramfs-tools/hooks/uhs-nfsroot"));
    CHECK(image::initramfs_may_read("usr/lib/modules/6.17/kernel/x.ko.xz"));
    CHECK(image::initramfs_may_read("etc/modprobe.d/blacklist.conf"));
    CHECK(image::initramfs_may_read("etc/udev/rules.d/70-x.rules"));
    CHECK(image::initramfs_may_read("etc/systemd/network/10-end0.link")); // udev's hook
    CHECK(image::initramfs_may_read("etc/iscsi/initiatorname.iscsi"));    // open-iscsi's
    CHECK(image::initramfs_may_read("usr/lib/uhs/iscsi-login"));          // not known: may
    CHECK_FALSE(image::initramfs_may_read("etc/motd"));
    CHECK_FALSE(image::initramfs_may_read("etc/systemd/system/kubelet.service.d/x.conf"));
    CHECK_FALSE(image::initramfs_may_read("usr/lib/systemd/system/uhs-state.service"));
    CHECK_FALSE(image::initramfs_may_read("etc/containerd/config.toml"));
    CHECK_FALSE(image::initramfs_may_read("root/.ssh/authorized_keys"));
}

TEST_CASE_METHOD(Fixture, "an initramfs is served again only while what it is made from stays") {
    REQUIRE(cache.save_initramfs(k_key, root, overlaid));
    forget_initramfs();
    CHECK(restore());
    CHECK(*util::read_file(root / "boot" / ("initrd.img-" + k_version)) == initrd);
    CHECK(*util::read_file(root / "var/lib/initramfs-tools" / k_version) == "sha1 of it\n");

    // Files no hook reads: the same one.
    forget_initramfs();
    put(root / "etc/motd", "changed\n");
    put(root / "etc/systemd/system/x.service", "[Service]\nType=oneshot\n");
    CHECK(restore());

    // One it may read, copied in under another name (as open-iscsi's hook copies
    // /etc/iscsi/initiatorname.iscsi to /etc): made again.
    forget_initramfs();
    put(root / "etc/iscsi/initiatorname.iscsi", "InitiatorName=iqn.x\n");
    auto with_iscsi = overlaid;
    with_iscsi.push_back("/etc/iscsi/initiatorname.iscsi");
    auto iscsi = cache.restore_initramfs(k_key, root, with_iscsi);
    REQUIRE(iscsi);
    CHECK_FALSE(*iscsi);

    // Its hook changed: made again.
    forget_initramfs();
    put(root / "etc/initramfs-tools/hooks/uhs", "#!/bin/sh\necho more\n", 0755);
    CHECK_FALSE(restore());
    CHECK_FALSE(fs::exists(root / "boot" / ("initrd.img-" + k_version)));
    put(root / "etc/initramfs-tools/hooks/uhs", "#!/bin/sh\n", 0755);
    CHECK(restore());

    // Only its mode changed: made again too.
    forget_initramfs();
    fs::permissions(root / "etc/initramfs-tools/hooks/uhs", fs::perms(0644));
    CHECK_FALSE(restore());
    fs::permissions(root / "etc/initramfs-tools/hooks/uhs", fs::perms(0755));

    // A file a hook copied into it: made again.
    forget_initramfs();
    put(root / "usr/sbin/iscsid", "iscsid v2", 0755);
    CHECK_FALSE(restore());
    put(root / "usr/sbin/iscsid", "iscsid v1", 0755);

    // Another stage key (other packages) never shares it.
    forget_initramfs();
    auto other = cache.restore_initramfs(std::string(64, 'f'), root, overlaid);
    REQUIRE(other);
    CHECK_FALSE(*other);

    // An overlay adding a modprobe option: made again.
    auto more = overlaid;
    more.push_back("/etc/modprobe.d/uhs.conf");
    put(root / "etc/modprobe.d/uhs.conf", "options macb x=1\n");
    auto added = cache.restore_initramfs(k_key, root, more);
    REQUIRE(added);
    CHECK_FALSE(*added);
}

TEST_CASE_METHOD(Fixture,
                 "a restored initramfs replaces a link in the root, never writes through") {
    REQUIRE(cache.save_initramfs(k_key, root, overlaid));
    forget_initramfs();
    const fs::path outside = dir.path() / "outside";
    put(outside, "not the initramfs");
    fs::create_symlink(outside, root / "boot" / ("initrd.img-" + k_version));
    CHECK(restore());
    CHECK(*util::read_file(outside) == "not the initramfs");
    CHECK(fs::is_regular_file(fs::symlink_status(root / "boot" / ("initrd.img-" + k_version))));
}

TEST_CASE_METHOD(Fixture, "a writer that died leaves temp names the next writer removes") {
    fs::create_directories(cache.dir());
    put(cache.dir() / ("." + k_key + ".tar.tmp.Ab12Cd"), "half a root");
    fs::create_directories(cache.dir() / ("." + k_key + ".initramfs.tmp.Ef34Gh"));
    REQUIRE(cache.save_root(root, k_key, 1700000000));
    CHECK(fs::is_regular_file(cache.root_tar(k_key)));
    std::vector<std::string> names = *util::list_dir_sorted(cache.dir());
    CHECK(names == std::vector<std::string>{".lock", k_key + ".tar"});

    // The saved root comes back with the same content.
    const fs::path again = dir.path() / "again";
    fs::create_directories(again);
    REQUIRE(cache.restore_root(k_key, again));
    CHECK(*util::read_file(again / "etc/motd") == "hello\n");
}
