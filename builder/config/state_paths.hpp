// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::config {

// How a persisted path reaches the node's state volume (/var/lib/uhs/state, the node's iSCSI
// LUN or a tmpfs).
enum class PersistKind {
    // A directory bind-mounted from state/<path> before anything that uses it starts; the
    // first boot of an empty volume seeds it from the image.
    bind,
    // The SSH host keys: /etc/ssh also holds the image's sshd_config, which must follow image
    // updates, so the keys alone are copied to and from state/etc/ssh by
    // uhs-ssh-hostkeys.service instead of binding the folder.
    host_keys,
};

std::string_view to_string(PersistKind kind);

// One path that lives on the node's state volume. `mode` is the directory's mode when the
// image has no such directory to seed it from; `units` (space-separated) get
// `RequiresMountsFor=` the path, so they never start on the tmpfs root instead.
struct PersistentPath {
    std::string path;
    PersistKind kind = PersistKind::bind;
    std::string mode = "0755";
    std::string units;
    std::string why;
};

// The product's list: what a kubeadm node with containerd and Flannel writes and needs after a
// reboot (overlays/README.md says how each was found). The build renders it, with
// storage.persist, into the image (image::render_state_files).
std::span<const PersistentPath> product_persistent_paths();

// The units a storage.persist path is required by: everything that runs pods.
inline constexpr std::string_view k_user_persist_units = "containerd.service kubelet.service";

// Why `path` may not be persisted (a storage.persist entry), or "" when it may. Checks the
// form (absolute, normalised, plain characters) and that it is not, inside or above a path
// that must stay on the image or in RAM (/proc, /run, /usr, /var/lib/uhs, ...), and not, inside
// or above a path of the product's list.
std::string persist_path_problem(std::string_view path);

// The product's list followed by `extra` (storage.persist, already checked), each with the
// units that require it.
std::vector<PersistentPath> persistent_paths(const std::vector<std::string>& extra);

// The table of overlays/README.md (between its `persist-table` markers), rendered from the
// product's list so the docs cannot drift from it (tests/unit/state_paths_test.cpp).
std::string render_persist_table_markdown();

} // namespace uhs::config
