// SPDX-License-Identifier: Apache-2.0
// The list of persisted paths: what it must hold, the storage.persist rules, what the build
// renders from it, and that overlays/README.md shows exactly the table the list gives.
#include "builder/config/cluster.hpp"
#include "builder/config/state_paths.hpp"
#include "builder/image/image_id.hpp"
#include "builder/image/state_files.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "tests/unit/test_support.hpp"

#include <algorithm>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

config::Cluster good_cluster(const std::string& storage_extra = "") {
    auto text = util::read_file(test::data_dir() / "configs/good.yaml");
    REQUIRE(text);
    if (!storage_extra.empty()) {
        const auto at = text->find("storage:\n");
        REQUIRE(at != std::string::npos);
        text->insert(at + 9, storage_extra);
    }
    auto cluster = config::parse_cluster(*text, test::data_dir() / "configs/good.yaml",
                                         {{test::source_dir() / "overlays"}});
    if (!cluster) {
        for (const auto& d : cluster.error()) {
            UNSCOPED_INFO(d.to_string());
        }
    }
    REQUIRE(cluster);
    return *cluster;
}

const config::PersistentPath* find_path(std::string_view path) {
    for (const auto& p : config::product_persistent_paths()) {
        if (p.path == path) {
            return &p;
        }
    }
    return nullptr;
}

std::string file_text(const std::vector<image::GeneratedFile>& files, const std::string& path) {
    for (const auto& f : files) {
        if (f.path == path) {
            return f.text;
        }
    }
    FAIL("no generated " << path);
    return "";
}

} // namespace

TEST_CASE("the product's list holds what a kubeadm node with Flannel needs after a reboot") {
    for (std::string_view path : {"/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet",
                                  "/var/lib/containerd", "/etc/cni/net.d", "/var/lib/cni"}) {
        INFO(path);
        const auto* p = find_path(path);
        REQUIRE(p != nullptr);
        CHECK(p->kind == config::PersistKind::bind);
        CHECK_FALSE(p->units.empty());
    }
    const auto* keys = find_path("/etc/ssh");
    REQUIRE(keys != nullptr);
    CHECK(keys->kind == config::PersistKind::host_keys);
    // etcd's data must never be readable by others, and its units must wait for it.
    CHECK(find_path("/var/lib/etcd")->mode == "0700");
    CHECK(find_path("/var/lib/etcd")->units.find("kubelet.service") != std::string::npos);
    // Runtime and image-provided paths are not state.
    CHECK(find_path("/run/flannel") == nullptr);
    CHECK(find_path("/opt/cni/bin") == nullptr);
    // No product path is inside another one: each is its own bind mount.
    for (const auto& a : config::product_persistent_paths()) {
        for (const auto& b : config::product_persistent_paths()) {
            if (&a != &b) {
                CHECK_FALSE(a.path.starts_with(b.path + "/"));
            }
        }
    }
}

TEST_CASE("storage.persist paths are absolute, normalised and clear of what stays off state") {
    CHECK(config::persist_path_problem("/var/lib/longhorn").empty());
    CHECK(config::persist_path_problem("/root/.kube").empty());
    CHECK(config::persist_path_problem("relative") == "is not an absolute path");
    CHECK(config::persist_path_problem("/") == "is the whole root");
    CHECK_FALSE(config::persist_path_problem("/srv/a/../b").empty());
    CHECK_FALSE(config::persist_path_problem("/srv/./b").empty());
    CHECK_FALSE(config::persist_path_problem("/srv//b").empty());
    CHECK_FALSE(config::persist_path_problem("/run/x").empty());
    CHECK_FALSE(config::persist_path_problem("/usr").empty());
    CHECK_FALSE(config::persist_path_problem("/var").empty()); // holds /var/lib/uhs
    CHECK_FALSE(config::persist_path_problem("/etc").empty()); // holds /etc/kubernetes
    CHECK(config::persist_path_problem("/etc/kubernetes/pki") ==
          "is persisted already (as part of /etc/kubernetes)");
    CHECK_FALSE(config::persist_path_problem("/etc/ssh/keys").empty());
}

TEST_CASE("tmpfs state for a control plane needs storage.ephemeral_control_plane") {
    const auto cluster =
        good_cluster("  ephemeral_control_plane: true\n  persist: [/var/lib/longhorn]\n");
    CHECK(cluster.storage.ephemeral_control_plane);
    CHECK(cluster.storage.persist == std::vector<std::string>{"/var/lib/longhorn"});
}

TEST_CASE("the build renders the list and a RequiresMountsFor= drop-in per unit") {
    const auto cluster = good_cluster("  persist: [/var/lib/longhorn]\n");
    const auto files = image::render_state_files(cluster);
    REQUIRE(std::is_sorted(files.begin(), files.end(),
                           [](const auto& a, const auto& b) { return a.path < b.path; }));
    const std::string list = file_text(files, std::string(image::k_state_list_path));
    CHECK(list.find("\nbind /etc/kubernetes 0755\n") != std::string::npos);
    CHECK(list.find("\nbind /var/lib/etcd 0700\n") != std::string::npos);
    CHECK(list.find("\nhost-keys /etc/ssh 0700\n") != std::string::npos);
    CHECK(list.ends_with("bind /var/lib/longhorn 0755\n"));
    const std::string kubelet =
        file_text(files, "usr/lib/systemd/system/kubelet.service.d/uhs-state.conf");
    CHECK(kubelet.find("\n[Unit]\nRequiresMountsFor=/etc/kubernetes /var/lib/etcd "
                       "/var/lib/kubelet /etc/cni/net.d /var/log/pods /var/log/containers "
                       "/var/lib/longhorn\n") != std::string::npos);
    const std::string containerd =
        file_text(files, "usr/lib/systemd/system/containerd.service.d/uhs-state.conf");
    CHECK(containerd.find("RequiresMountsFor=/var/lib/containerd /etc/cni/net.d /var/lib/cni "
                          "/var/log/pods /var/lib/longhorn\n") != std::string::npos);
    CHECK(file_text(files, "usr/lib/systemd/system/uhs-etcd-disk-probe.service.d/uhs-state.conf")
              .find("RequiresMountsFor=/var/lib/etcd\n") != std::string::npos);
    // Nothing requires the host keys: sshd must come up even when state does not.
    for (const auto& f : files) {
        CHECK(f.path.find("ssh") == std::string::npos);
    }
    // Same cluster, same bytes.
    const auto again = image::render_state_files(cluster);
    REQUIRE(again.size() == files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        CHECK(again[i].text == files[i].text);
    }
}

TEST_CASE("storage.persist is part of the image id") {
    const auto plain = image::image_config_subset(good_cluster());
    const auto extended = image::image_config_subset(good_cluster("  persist: [/srv/data]\n"));
    CHECK(plain != extended);
    CHECK(extended["storage"]["persist"].back() ==
          "bind /srv/data 0755 containerd.service kubelet.service");
}

TEST_CASE("overlays/README.md shows the table the list gives") {
    const auto readme = util::read_file(test::source_dir() / "overlays/README.md");
    REQUIRE(readme);
    const std::string begin = "<!-- persist-table: begin (rendered from builder/config/"
                              "state_paths.cpp; tests/unit/state_paths_test.cpp checks it) -->\n";
    const std::string end = "<!-- persist-table: end -->";
    const auto from = readme->find(begin);
    const auto to = readme->find(end);
    REQUIRE(from != std::string::npos);
    REQUIRE(to != std::string::npos);
    const std::string shown = readme->substr(from + begin.size(), to - from - begin.size());
    INFO("overlays/README.md must have, between the markers:\n"
         << config::render_persist_table_markdown());
    CHECK(shown == config::render_persist_table_markdown());
}

TEST_CASE("the initramfs gets the network drivers of the cluster's boards, not every one") {
    auto cluster = good_cluster();
    const auto lines = [](const config::Cluster& c) {
        const auto files = image::render_initramfs_files(c);
        REQUIRE(files.size() == 1);
        CHECK(files[0].path == image::k_nic_modules_path);
        std::vector<std::string> modules;
        for (std::string_view line : util::split(files[0].text, '\n')) {
            if (!line.empty() && !line.starts_with('#')) {
                modules.emplace_back(line);
            }
        }
        return modules;
    };
    // Two CM5 Lites: RP1's chain, and virtio_net for the QEMU boots; sorted, each once.
    CHECK(lines(cluster) == std::vector<std::string>{"broadcom", "clk_rp1", "irq_bcm2712_mip",
                                                     "macb", "pcie_brcmstb", "pinctrl_rp1",
                                                     "rp1_pci", "virtio_net"});
    // A CM4 adds GENET's; a board whose Ethernet is unknown brings every driver back, and
    // initramfs-tools' base set (buses, clocks, pins) with them.
    cluster.nodes[1].model = config::BoardModel::cm4;
    auto with_cm4 = lines(cluster);
    CHECK(std::count(with_cm4.begin(), with_cm4.end(), "genet") == 1);
    CHECK(std::count(with_cm4.begin(), with_cm4.end(), "mdio_bcm_unimac") == 1);
    CHECK(std::count(with_cm4.begin(), with_cm4.end(), "net") == 0);
    CHECK(std::count(with_cm4.begin(), with_cm4.end(), "base") == 0);
    cluster.nodes[1].model = config::BoardModel::uefi_arm64;
    auto with_uefi = lines(cluster);
    CHECK(std::count(with_uefi.begin(), with_uefi.end(), "net") == 1);
    CHECK(std::count(with_uefi.begin(), with_uefi.end(), "base") == 1);
}
