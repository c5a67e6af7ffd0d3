// SPDX-License-Identifier: Apache-2.0
#include "builder/config/cluster_schema.hpp"

#include <array>
#include <cstddef>

namespace uhs::config {

namespace {

using K = std::string_view;

constexpr std::array k_top{K{"apiVersion"}, K{"cluster"},    K{"network"},  K{"storage"},
                           K{"image"},      K{"kubernetes"}, K{"firmware"}, K{"nodes"}};
constexpr std::array k_top_required{K{"apiVersion"}, K{"cluster"},    K{"network"}, K{"storage"},
                                    K{"image"},      K{"kubernetes"}, K{"nodes"}};
constexpr std::array k_cluster{K{"name"}, K{"domain"}, K{"timezone"}, K{"ssh_authorized_keys"}};
constexpr std::array k_cluster_required{K{"name"}, K{"domain"}};
constexpr std::array k_network{K{"server"},  K{"interface"}, K{"subnet"},
                               K{"gateway"}, K{"dns"},       K{"pin_tftp_server"}};
constexpr std::array k_network_required{K{"server"}, K{"interface"}, K{"subnet"}, K{"gateway"}};
constexpr std::array k_storage{K{"truenas"}, K{"state"}, K{"persist"},
                               K{"ephemeral_control_plane"}};
constexpr std::array k_storage_required{K{"truenas"}};
constexpr std::array k_truenas{K{"host"}, K{"api_key_file"}, K{"dataset"}, K{"nfs_version"}};
constexpr std::array k_truenas_required{K{"host"}, K{"api_key_file"}, K{"dataset"}};
constexpr std::array k_image{K{"architecture"}, K{"variant"}, K{"sources"}, K{"packages"},
                             K{"kernel"},       K{"pins"},    K{"overlays"}};
constexpr std::array k_image_required{K{"sources"}, K{"packages"}, K{"kernel"}};
constexpr std::array k_source{K{"name"}, K{"uri"}, K{"suites"}, K{"components"}, K{"keyring"}};
constexpr std::array k_source_required{K{"name"}, K{"uri"}, K{"suites"}, K{"keyring"}};
constexpr std::array k_pin{K{"packages"}, K{"suite"}, K{"priority"}};
constexpr std::array k_kubernetes{K{"version"}, K{"pod_cidr"}, K{"service_cidr"},
                                  K{"control_plane_endpoint"}};
constexpr std::array k_kubernetes_required{K{"version"}, K{"control_plane_endpoint"}};
constexpr std::array k_firmware{K{"bootloader"}, K{"tftp_file_timeout"}};
constexpr std::array k_node{K{"name"}, K{"slot"}, K{"model"}, K{"serial"},
                            K{"mac"},  K{"ip"},   K{"role"},  K{"device_tree"}};
constexpr std::array k_node_required{K{"name"}, K{"slot"}, K{"model"}, K{"ip"}, K{"role"}};

constexpr std::array<ClusterSectionKeys, 11> k_sections{{
    {ClusterSection::top, "", k_top, k_top_required},
    {ClusterSection::cluster, "cluster", k_cluster, k_cluster_required},
    {ClusterSection::network, "network", k_network, k_network_required},
    {ClusterSection::storage, "storage", k_storage, k_storage_required},
    {ClusterSection::storage_truenas, "storage.truenas", k_truenas, k_truenas_required},
    {ClusterSection::image, "image", k_image, k_image_required},
    {ClusterSection::image_sources, "image.sources[]", k_source, k_source_required},
    {ClusterSection::image_pins, "image.pins[]", k_pin, k_pin},
    {ClusterSection::kubernetes, "kubernetes", k_kubernetes, k_kubernetes_required},
    {ClusterSection::firmware, "firmware", k_firmware, {}},
    {ClusterSection::nodes, "nodes[]", k_node, k_node_required},
}};

// cluster_section() indexes k_sections by the enum.
static_assert(
    [] {
        for (std::size_t i = 0; i < k_sections.size(); ++i) {
            if (static_cast<std::size_t>(k_sections[i].section) != i) {
                return false;
            }
        }
        return k_sections.back().section == ClusterSection::nodes;
    }(),
    "k_sections must list every ClusterSection in enum order");

} // namespace

std::span<const ClusterSectionKeys> cluster_sections() {
    return k_sections;
}

const ClusterSectionKeys& cluster_section(ClusterSection section) {
    return k_sections[static_cast<std::size_t>(section)];
}

} // namespace uhs::config
