// SPDX-License-Identifier: Apache-2.0
// The kubeadm configuration `cluster up` hands to each node, rendered from the cluster file.
#pragma once

#include "builder/apt/lockfile.hpp"
#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace uhs::cluster {

// containerd's CRI socket, as the image's containerd listens on it.
inline constexpr std::string_view k_cri_socket = "unix:///run/containerd/containerd.sock";
// The API server's port on every control plane (kubeadm's default bind port).
inline constexpr int k_api_server_port = 6443;
// The cluster's own DNS domain (Services), not the LAN's `cluster.domain`.
inline constexpr std::string_view k_cluster_dns_domain = "cluster.local";

// "v1.31.2": the version of the kubeadm package the lock holds, checked against
// `kubernetes.version` ("1.31" takes any 1.31.x, "1.31.2" only itself). Fails with
// Errc::invalid_input when the lock has no kubeadm or a version the cluster file does not ask for.
util::Result<std::string> kubernetes_version_from_lock(const apt::LockFile& lock,
                                                       const config::Kubernetes& kubernetes);

// `kubernetes.control_plane_endpoint` with kubeadm's default port when it names none.
std::string api_server_endpoint(const config::Kubernetes& kubernetes);

// What a node needs to join: a bootstrap token, the CA's public key hash and, for a control
// plane, the key that decrypts the certificates `upload-certs` put into the cluster.
struct JoinCredentials {
    std::string token;                          // "abcdef.0123456789abcdef"
    std::string ca_cert_hash;                   // "sha256:<64 hex digits>"
    std::optional<std::string> certificate_key; // 64 hex digits; control planes only
};

// Reads the token and CA hash out of `kubeadm token create --print-join-command`'s output
// ("kubeadm join HOST:PORT --token T --discovery-token-ca-cert-hash sha256:H"). Fails when
// either is missing or malformed.
util::Result<JoinCredentials> parse_join_command(std::string_view output);

// Checks `kubeadm certs certificate-key`'s output: one line of 64 hex digits.
util::Result<std::string> parse_certificate_key(std::string_view output);

// InitConfiguration + ClusterConfiguration + KubeletConfiguration for `kubeadm init` on `node`
// (kubeadm.k8s.io/v1beta4, Kubernetes 1.31 and later). Deterministic text: same inputs, same
// bytes.
std::string render_init_config(const config::Cluster& cluster, const config::Node& node,
                               std::string_view kubernetes_version);

// JoinConfiguration for `kubeadm join` on `node`: a worker, or a control plane when `node`'s
// role says so (then `credentials.certificate_key` must be set).
std::string render_join_config(const config::Cluster& cluster, const config::Node& node,
                               const JoinCredentials& credentials);

} // namespace uhs::cluster
