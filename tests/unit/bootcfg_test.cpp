// SPDX-License-Identifier: Apache-2.0
#include "firmware/bootcfg/node_boot.hpp"
#include "tests/unit/test_support.hpp"

using namespace uhs;

namespace {

config::Cluster good_cluster() {
    auto cluster = config::load_cluster(test::data_dir() / "configs/good.yaml",
                                        {{test::source_dir() / "overlays"}});
    REQUIRE(cluster);
    return *cluster;
}

} // namespace

TEST_CASE("cmdline.txt mounts the image read-only over NFSv3 with the node's own identity") {
    const auto cluster = good_cluster();
    CHECK(bootcfg::render_cmdline(cluster, cluster.nodes[0], "0123abcd") ==
          "console=ttyAMA10,115200 console=tty1 root=/dev/nfs "
          "nfsroot=10.1.0.5:/mnt/tank/uhs/images/0123abcd,vers=3,tcp,nolock ro "
          "ip=10.1.0.11::10.1.0.1:255.255.255.0:n1::off:10.1.0.1 rootwait systemd.hostname=n1 "
          "cgroup_enable=memory cgroup_memory=1 uhs.node=n1 uhs.role=control-plane uhs.state=iscsi "
          "uhs.iscsi.portal=10.1.0.5:3260 uhs.iscsi.target=iqn.2005-10.org.freenas.ctl:uhs-test-n1 "
          "uhs.iscsi.initiator=iqn.2025-01.arpa.home.test:uhs-test-n1 uhs.iscsi.lun=0 "
          "uhs.bootserver=10.1.0.2 uhs.image=0123abcd\n");
}

TEST_CASE("each node has its own iSCSI target and initiator name") {
    const auto cluster = good_cluster();
    CHECK(bootcfg::iscsi_target_iqn(cluster, cluster.nodes[1]) ==
          "iqn.2005-10.org.freenas.ctl:uhs-test-n2");
    CHECK(bootcfg::iscsi_initiator_iqn(cluster, cluster.nodes[1]) ==
          "iqn.2025-01.arpa.home.test:uhs-test-n2");
    CHECK(bootcfg::iscsi_initiator_iqn(cluster, cluster.nodes[0]) !=
          bootcfg::iscsi_initiator_iqn(cluster, cluster.nodes[1]));
}

TEST_CASE("cmdline.txt mounts the root with NFS v3 and follows the state storage") {
    auto cluster = good_cluster();
    cluster.storage.state = config::StateStorage::tmpfs;
    const std::string line = bootcfg::render_cmdline(cluster, cluster.nodes[1], "ff");
    CHECK(line.find(",vers=3,tcp,nolock ro ") != std::string::npos);
    CHECK(line.find(" uhs.state=tmpfs ") != std::string::npos);
    CHECK(line.find("uhs.iscsi.") == std::string::npos); // no LUN to log in to
    CHECK(line.find("ip=10.1.0.12::") != std::string::npos);
}

TEST_CASE("config.txt names the SoC's kernel and initramfs and the model's device tree") {
    auto cluster = good_cluster();
    const std::string cm5 = bootcfg::render_config_txt(cluster, cluster.nodes[0], "0123abcd");
    CHECK(cm5 == "# Written by uhs for n1 (slot 1, cm5-lite) of cluster test.\n"
                 "# Image 0123abcd. Edit the cluster file, not this file.\n"
                 "[all]\n"
                 "arm_64bit=1\n"
                 "kernel=kernel_2712.img\n"
                 "initramfs initramfs_2712 followkernel\n"
                 "device_tree=bcm2712-rpi-cm5l-cm5io.dtb\n"
                 "enable_uart=1\n");
    cluster.nodes[0].model = config::BoardModel::cm4;
    const std::string cm4 = bootcfg::render_config_txt(cluster, cluster.nodes[0], "0123abcd");
    CHECK(cm4.find("kernel=kernel8.img\ninitramfs initramfs8 followkernel\n") != std::string::npos);
    CHECK(cm4.find("device_tree=bcm2711-rpi-cm4.dtb\n") != std::string::npos);
}

TEST_CASE("the disk's cmdline.txt boots its own root partition and carries no node") {
    CHECK(bootcfg::render_disk_cmdline("1a2b3c4d-02", "0123abcd") ==
          "console=serial0,115200 console=tty1 root=PARTUUID=1a2b3c4d-02 rootfstype=ext4 rw "
          "rootwait cgroup_enable=memory cgroup_memory=1 uhs.image=0123abcd\n");
}

TEST_CASE("the disk's config.txt has a section per SoC family and, when no node names one, "
          "leaves the device tree to the firmware") {
    auto cluster = good_cluster();
    const std::string cm5_only = bootcfg::render_disk_config_txt(cluster, "0123abcd");
    CHECK(cm5_only == "# Written by uhs for the disk image of cluster test.\n"
                      "# Image 0123abcd. Edit the cluster file, not this file.\n"
                      "[all]\n"
                      "arm_64bit=1\n"
                      "enable_uart=1\n"
                      "[pi5]\n"
                      "kernel=kernel_2712.img\n"
                      "initramfs initramfs_2712 followkernel\n"
                      "[all]\n");
    CHECK(cm5_only.find("device_tree") == std::string::npos);
    cluster.nodes[0].model = config::BoardModel::cm4;
    const std::string mixed = bootcfg::render_disk_config_txt(cluster, "0123abcd");
    CHECK(mixed.find("[cm4]\nkernel=kernel8.img\ninitramfs initramfs8 followkernel\n[pi5]\n") !=
          std::string::npos);
    for (auto& node : cluster.nodes) {
        node.model = config::BoardModel::cm4;
    }
    CHECK(bootcfg::render_disk_config_txt(cluster, "0123abcd").find("[pi5]") == std::string::npos);
}

TEST_CASE("the disk's config.txt names the device tree every node of a SoC family names") {
    auto cluster = good_cluster();
    for (auto& node : cluster.nodes) {
        node.device_tree = "bcm2712-rpi-5-b.dtb";
    }
    CHECK(bootcfg::render_disk_config_txt(cluster, "0123abcd")
              .find("[pi5]\nkernel=kernel_2712.img\ninitramfs initramfs_2712 followkernel\n"
                    "device_tree=bcm2712-rpi-5-b.dtb\n[all]\n") != std::string::npos);
    // Nodes that disagree leave the choice to the firmware: one card cannot name two trees.
    cluster.nodes.back().device_tree = "bcm2712-d-rpi-5-b.dtb";
    CHECK(bootcfg::render_disk_config_txt(cluster, "0123abcd").find("device_tree") ==
          std::string::npos);
}
