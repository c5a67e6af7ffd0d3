// SPDX-License-Identifier: Apache-2.0
#include "builder/cluster/kubeadm_config.hpp"

#include "builder/util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace uhs::cluster {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && std::ranges::all_of(text, [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

// "1.31.2" from a Debian version "[epoch:]1.31.2-1.1"; nullopt unless it is MAJOR.MINOR.PATCH.
std::optional<std::string> upstream_release(std::string_view version) {
    if (auto colon = version.find(':'); colon != std::string_view::npos) {
        version.remove_prefix(colon + 1);
    }
    if (auto dash = version.rfind('-'); dash != std::string_view::npos) {
        version = version.substr(0, dash);
    }
    const auto parts = util::split(version, '.');
    if (parts.size() != 3 || !std::ranges::all_of(parts, all_digits)) {
        return std::nullopt;
    }
    return std::string(version);
}

bool is_lower_alnum(std::string_view text) {
    return std::ranges::all_of(
        text, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool is_lower_hex(std::string_view text) {
    return std::ranges::all_of(
        text, [](char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); });
}

// kubeadm's bootstrap token format: [a-z0-9]{6}.[a-z0-9]{16}.
bool is_bootstrap_token(std::string_view token) {
    return token.size() == 23 && token[6] == '.' && is_lower_alnum(token.substr(0, 6)) &&
           is_lower_alnum(token.substr(7));
}

void node_registration(std::ostringstream& out, const config::Node& node) {
    out << "nodeRegistration:\n"
        << "  name: " << node.name << '\n'
        << "  criSocket: " << k_cri_socket << '\n'
        << "  kubeletExtraArgs:\n"
        << "    - name: node-ip\n"
        << "      value: " << node.ip.to_string() << '\n';
}

void local_api_endpoint(std::ostringstream& out, const config::Node& node,
                        std::string_view indent) {
    out << indent << "localAPIEndpoint:\n"
        << indent << "  advertiseAddress: " << node.ip.to_string() << '\n'
        << indent << "  bindPort: " << k_api_server_port << '\n';
}

constexpr std::string_view k_header =
    "# Rendered by `uhs-image cluster up` from the cluster file.\n";

} // namespace

util::Result<std::string> kubernetes_version_from_lock(const apt::LockFile& lock,
                                                       const config::Kubernetes& kubernetes) {
    const auto kubeadm = std::ranges::find(lock.packages, "kubeadm", &apt::LockedPackage::name);
    if (kubeadm == lock.packages.end()) {
        return util::fail(util::Errc::invalid_input,
                          "the lock holds no kubeadm package: add kubeadm to image.packages and "
                          "run 'uhs-image lock --update'");
    }
    const auto release = upstream_release(kubeadm->version);
    if (!release) {
        return util::fail(util::Errc::invalid_input, "the lock's kubeadm version '",
                          kubeadm->version, "' is not a MAJOR.MINOR.PATCH release");
    }
    const std::string& wanted = kubernetes.version;
    const bool matches = wanted == *release || release->starts_with(wanted + ".");
    if (!matches) {
        return util::fail(util::Errc::invalid_input, "kubernetes.version is ", wanted,
                          " but the lock's kubeadm is ", kubeadm->version,
                          ": run 'uhs-image lock --update'");
    }
    return "v" + *release;
}

std::string api_server_endpoint(const config::Kubernetes& kubernetes) {
    const std::string& endpoint = kubernetes.control_plane_endpoint;
    // "[v6]:port" or "host:port" already carry a port; a bare host gets the default.
    const auto colon = endpoint.rfind(':');
    const bool has_port = colon != std::string::npos &&
                          endpoint.find(']', colon) == std::string::npos &&
                          all_digits(std::string_view(endpoint).substr(colon + 1));
    return has_port ? endpoint : endpoint + ":" + std::to_string(k_api_server_port);
}

util::Result<JoinCredentials> parse_join_command(std::string_view output) {
    std::vector<std::string_view> words;
    for (auto line : util::split(output, '\n')) {
        for (auto word : util::split(line, ' ')) {
            if (auto w = util::trim(word); !w.empty()) {
                words.push_back(w);
            }
        }
    }
    JoinCredentials credentials;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        if (words[i] == "--token") {
            credentials.token = words[i + 1];
        } else if (words[i] == "--discovery-token-ca-cert-hash") {
            credentials.ca_cert_hash = words[i + 1];
        }
    }
    if (!is_bootstrap_token(credentials.token)) {
        return util::fail(
            "the join command has no bootstrap token (--token [a-z0-9]{6}.[a-z0-9]{16})");
    }
    const std::string_view hash = credentials.ca_cert_hash;
    if (!hash.starts_with("sha256:") || hash.size() != 7 + 64 || !is_lower_hex(hash.substr(7))) {
        return util::fail("the join command has no --discovery-token-ca-cert-hash sha256:<64 hex>");
    }
    return credentials;
}

util::Result<std::string> parse_certificate_key(std::string_view output) {
    const std::string_view key = util::trim(output);
    if (key.size() != 64 || !is_lower_hex(key)) {
        return util::fail("expected a certificate key of 64 hex digits, got '",
                          std::string(key.substr(0, 80)), "'");
    }
    return std::string(key);
}

std::string render_init_config(const config::Cluster& cluster, const config::Node& node,
                               std::string_view kubernetes_version) {
    std::ostringstream out;
    out << k_header << "apiVersion: kubeadm.k8s.io/v1beta4\n"
        << "kind: InitConfiguration\n";
    node_registration(out, node);
    local_api_endpoint(out, node, "");
    out << "---\n"
        << "apiVersion: kubeadm.k8s.io/v1beta4\n"
        << "kind: ClusterConfiguration\n"
        << "clusterName: " << cluster.cluster.name << '\n'
        << "kubernetesVersion: " << kubernetes_version << '\n'
        << "controlPlaneEndpoint: " << api_server_endpoint(cluster.kubernetes) << '\n'
        << "networking:\n"
        << "  dnsDomain: " << k_cluster_dns_domain << '\n'
        << "  podSubnet: " << cluster.kubernetes.pod_cidr.to_string() << '\n'
        << "  serviceSubnet: " << cluster.kubernetes.service_cidr.to_string() << '\n'
        << "---\n"
        << "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        << "kind: KubeletConfiguration\n"
        << "cgroupDriver: systemd\n";
    return out.str();
}

std::string render_join_config(const config::Cluster& cluster, const config::Node& node,
                               const JoinCredentials& credentials) {
    std::ostringstream out;
    out << k_header << "apiVersion: kubeadm.k8s.io/v1beta4\n"
        << "kind: JoinConfiguration\n";
    node_registration(out, node);
    out << "discovery:\n"
        << "  bootstrapToken:\n"
        << "    apiServerEndpoint: " << api_server_endpoint(cluster.kubernetes) << '\n'
        << "    token: " << credentials.token << '\n'
        << "    caCertHashes:\n"
        << "      - " << credentials.ca_cert_hash << '\n';
    if (node.role == config::NodeRole::control_plane) {
        out << "controlPlane:\n";
        local_api_endpoint(out, node, "  ");
        out << "  certificateKey: " << credentials.certificate_key.value_or("") << '\n';
    }
    return out.str();
}

} // namespace uhs::cluster
