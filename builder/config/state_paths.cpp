// SPDX-License-Identifier: Apache-2.0
// The paths a node keeps on its state volume. One table drives the generator's list, the units'
// RequiresMountsFor= drop-ins (both rendered into the image by builder/image/state_files.cpp)
// and the table in overlays/README.md.
#include "builder/config/state_paths.hpp"

#include <algorithm>
#include <array>

namespace uhs::config {

namespace {

// How each was found is in overlays/README.md ("Persistent state: how the list was found").
const std::array<PersistentPath, 9> k_product = {{
    {"/etc/kubernetes", PersistKind::bind, "0755", "kubelet.service",
     "kubeadm's constant directory: PKI (`pki/`), kubeconfigs (`admin.conf`, `kubelet.conf`, "
     "`controller-manager.conf`, `scheduler.conf`), static pod manifests (`manifests/`)"},
    {"/var/lib/etcd", PersistKind::bind, "0700", "kubelet.service uhs-etcd-disk-probe.service",
     "etcd's data (kubeadm's default `dataDir`, a hostPath of the etcd static pod kubelet runs)"},
    {"/var/lib/kubelet", PersistKind::bind, "0700", "kubelet.service",
     "kubelet's root: `config.yaml` and `kubeadm-flags.env` from kubeadm, its client and serving "
     "certificates (`pki/`, rotated), pod volumes, device-plugin and CPU/memory manager state"},
    {"/var/lib/containerd", PersistKind::bind, "0711", "containerd.service",
     "containerd's root: content store, overlayfs snapshots, metadata (images survive a reboot)"},
    {"/etc/cni/net.d", PersistKind::bind, "0755", "containerd.service kubelet.service",
     "CNI configuration: Flannel's `install-cni` init container writes `10-flannel.conflist`"},
    {"/var/lib/cni", PersistKind::bind, "0755", "containerd.service",
     "CNI plugin state: host-local IPAM leases (`networks/cbr0`) and the flannel plugin's "
     "per-sandbox delegate config (`flannel/`), which releasing a pre-reboot sandbox needs"},
    {"/var/log/pods", PersistKind::bind, "0755", "containerd.service kubelet.service",
     "container logs (kubelet's `podLogsDir`): kept off RAM, and `kubectl logs --previous` "
     "works across a reboot"},
    {"/var/log/containers", PersistKind::bind, "0755", "kubelet.service",
     "kubelet's symlinks into `/var/log/pods`, which log shippers read"},
    {"/etc/ssh", PersistKind::host_keys, "0700", "",
     "the SSH host keys `ssh_host_*_key[.pub]` only, copied by `uhs-ssh-hostkeys.service` "
     "(not required by sshd: a node whose state fails must stay reachable)"},
}};

// Never on the state volume: the kernel's and runtime trees, the image's own files, the state
// volume itself, and what must stay per boot.
struct Forbidden {
    std::string_view path;
    std::string_view why;
};
constexpr std::array<Forbidden, 15> k_forbidden = {{
    {"/proc", "a kernel filesystem"},
    {"/sys", "a kernel filesystem"},
    {"/dev", "a kernel filesystem"},
    {"/run", "runtime state, made again at every boot"},
    {"/tmp", "meant to be lost at reboot"},
    {"/boot", "the image's own files"},
    {"/usr", "the image's own files"},
    {"/bin", "the image's own files"},
    {"/sbin", "the image's own files"},
    {"/lib", "the image's own files"},
    {"/lib64", "the image's own files"},
    {"/etc/systemd", "the image's units (a persisted copy would hide image updates)"},
    {"/var/lib/uhs", "the state volume itself"},
    {"/opt/cni/bin", "CNI plugins come from the image (kubernetes-cni); Flannel copies its own "
                     "plugin there at every start"},
    {"/etc/ssh", "the image's sshd configuration (the host keys are kept already)"},
}};

bool is_inside(std::string_view path, std::string_view dir) {
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

bool plain_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '@';
}

} // namespace

std::string_view to_string(PersistKind kind) {
    return kind == PersistKind::bind ? "bind" : "host-keys";
}

std::span<const PersistentPath> product_persistent_paths() {
    return k_product;
}

std::string persist_path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return "is not an absolute path";
    }
    if (path == "/") {
        return "is the whole root";
    }
    if (!std::all_of(path.begin(), path.end(), plain_character)) {
        return "has a character other than letters, digits and / . _ - + @";
    }
    if (path.back() == '/' || path.find("//") != std::string_view::npos ||
        path.find("/./") != std::string_view::npos || path.ends_with("/.") ||
        path.find("/../") != std::string_view::npos || path.ends_with("/..")) {
        return "is not normalised (no trailing '/', '//', '.' or '..')";
    }
    for (const Forbidden& f : k_forbidden) {
        if (path == f.path || is_inside(path, f.path)) {
            return "is " + std::string(path == f.path ? "" : "inside ") + std::string(f.path) +
                   ", which stays off the state volume: " + std::string(f.why);
        }
        if (is_inside(f.path, path)) {
            return "holds " + std::string(f.path) +
                   ", which stays off the state volume: " + std::string(f.why);
        }
    }
    for (const PersistentPath& p : k_product) {
        if (path == p.path || is_inside(path, p.path)) {
            return "is persisted already (as part of " + p.path + ")";
        }
        if (is_inside(p.path, path)) {
            return "holds " + p.path + ", which is persisted on its own (list a path beside it)";
        }
    }
    return "";
}

std::vector<PersistentPath> persistent_paths(const std::vector<std::string>& extra) {
    std::vector<PersistentPath> all(k_product.begin(), k_product.end());
    for (const std::string& path : extra) {
        all.push_back({path, PersistKind::bind, "0755", std::string(k_user_persist_units),
                       "storage.persist"});
    }
    return all;
}

std::string render_persist_table_markdown() {
    std::string text = "| path | kept as | mode when the image has none | required by | what |\n"
                       "|---|---|---|---|---|\n";
    for (const PersistentPath& p : k_product) {
        std::string units;
        for (std::size_t start = 0; start < p.units.size();) {
            const std::size_t end = std::min(p.units.find(' ', start), p.units.size());
            units += (units.empty() ? "`" : ", `") + p.units.substr(start, end - start) + "`";
            start = end + 1;
        }
        text += "| `" + p.path + "` | " +
                (p.kind == PersistKind::bind ? "bind mount" : "copied (host keys)") + " | " +
                p.mode + " | " + (units.empty() ? "-" : units) + " | " + p.why + " |\n";
    }
    return text;
}

} // namespace uhs::config
