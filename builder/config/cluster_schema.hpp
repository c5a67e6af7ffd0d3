// SPDX-License-Identifier: Apache-2.0
// The keys each mapping of a cluster file may have: the table the reader checks unknown and
// missing keys against, and the one the uhs-cluster(5) man page lists, so the two agree.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace uhs::config {

// The mappings of a cluster file, in the order the man page lists them.
enum class ClusterSection {
    top,
    cluster,
    network,
    storage,
    storage_truenas,
    image,
    image_sources,
    image_pins,
    kubernetes,
    firmware,
    nodes,
};

struct ClusterSectionKeys {
    ClusterSection section;
    std::string_view path; // where the mapping is: "storage.truenas", "nodes[]" (each item)
    // In the order the reader offers them as "did you mean" candidates.
    std::span<const std::string_view> allowed;
    std::span<const std::string_view> required;
};

// Every section, in enum order.
std::span<const ClusterSectionKeys> cluster_sections();

const ClusterSectionKeys& cluster_section(ClusterSection section);

// The uhs-cluster(5) man page: `prose` (troff, builder/config/uhs-cluster.5.in) with its marker
// line
// ".\" @KEYS@" replaced by a subsection per section listing its keys, required ones marked.
// Empty when `prose` has no marker. (cluster_manual.cpp: linked only by uhs-docgen and tests.)
std::string render_cluster_man_page(std::string_view prose, std::string_view source);

} // namespace uhs::config
