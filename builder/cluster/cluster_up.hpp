// SPDX-License-Identifier: Apache-2.0
// `uhs-image cluster up`: brings the cluster file's nodes into one kubeadm cluster, idempotently.
#pragma once

#include "builder/cluster/node_shell.hpp"
#include "builder/config/cluster.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace uhs::cluster {

// Where the boot-time etcd disk probe on a control plane (overlays/kubelet) leaves its report,
// `key=value` lines with `p99_ms=`: the fdatasync p99 of 8 KiB writes on the state volume.
// `cluster up` warns when it is over k_etcd_fsync_limit_ms.
inline constexpr std::string_view k_etcd_fsync_probe_path = "/run/uhs/etcd-disk-probe";
inline constexpr double k_etcd_fsync_limit_ms = 10.0;

// The admin kubeconfig `cluster up` writes: "<dir>/<cluster.name>.kubeconfig", mode 0600.
std::filesystem::path kubeconfig_path_for(const config::Cluster& cluster);

enum class NodeResult {
    unchanged,     // already a member: nothing was done
    initialised,   // `kubeadm init` made the cluster here
    joined,        // `kubeadm join` (worker or control plane)
    failed,        // a step failed; see UpFailure
    not_attempted, // an earlier failure (the token, the first control plane) stopped it
};
std::string_view to_string(NodeResult result);

struct NodeOutcome {
    std::string name;
    config::NodeRole role = config::NodeRole::worker;
    std::string ip;
    NodeResult result = NodeResult::not_attempted;
};

// "node NAME: STEP: message".
struct UpFailure {
    std::string node;
    std::string step; // connect, membership, validate, init, members, token, certificate-key,
                      // upload-certs, join, kubeconfig
    std::string message;
    std::string to_string() const;
};

struct UpReport {
    std::string kubernetes_version;
    std::vector<NodeOutcome> nodes; // cluster file order
    std::vector<UpFailure> failures;
    std::vector<std::string> warnings;
    std::filesystem::path kubeconfig;
    bool kubeconfig_checked = false; // the control plane's admin.conf was read
    bool kubeconfig_written = false; // it differed from the file (or the file's mode did)
    bool ok() const { return failures.empty(); }
};

struct UpOptions {
    std::string kubernetes_version;   // "v1.31.2" (kubernetes_version_from_lock)
    std::filesystem::path kubeconfig; // written with the first control plane's admin.conf
    std::ostream* progress = nullptr; // one line per node and step, for a terminal
    std::chrono::milliseconds probe_timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds command_timeout{std::chrono::minutes(15)};
};

// Looks at every node (is /etc/kubernetes/kubelet.conf there, admin.conf on control planes),
// runs `kubeadm init` on the first control plane when no control plane has the cluster yet,
// asks a control plane which nodes are members (kubectl get nodes), and joins the others:
// control planes with a fresh certificate key (upload-certs), then workers, all with one
// fresh bootstrap token. Each config is checked by the node's own `kubeadm config validate`
// first. A node that is a member is left alone; one with kubelet.conf that the cluster does
// not know is reported, not reset. Ends by writing the admin kubeconfig (only if it changed).
// Failures are collected in the report, each naming its node and step.
UpReport cluster_up(const config::Cluster& cluster, NodeShell& shell, const UpOptions& options);

// The report as one JSON document, and as the lines a person reads.
nlohmann::json to_json(const UpReport& report);
std::string to_text(const UpReport& report);

} // namespace uhs::cluster
