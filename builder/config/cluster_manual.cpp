// SPDX-License-Identifier: Apache-2.0
#include "builder/config/cluster_schema.hpp"
#include "builder/util/cli_doc.hpp"

#include <algorithm>

namespace uhs::config {

namespace {

constexpr std::string_view k_marker = ".\\\" @KEYS@\n";

std::string keys_section() {
    std::string out;
    for (const ClusterSectionKeys& section : cluster_sections()) {
        const std::string title = section.path.empty() ? "top level" : std::string(section.path);
        out += ".SS \"" + util::troff_escape(title) + "\"\n";
        bool first = true;
        for (std::string_view key : section.allowed) {
            const bool required = std::find(section.required.begin(), section.required.end(),
                                            key) != section.required.end();
            out += first ? "" : ",\n";
            out += "\\fB" + util::troff_escape(key) + "\\fR" + (required ? " (required)" : "");
            first = false;
        }
        out += "\n";
    }
    return out;
}

} // namespace

std::string render_cluster_man_page(std::string_view prose, std::string_view source) {
    const auto at = prose.find(k_marker);
    if (at == std::string_view::npos) {
        return "";
    }
    return util::man_header("uhs-cluster", 5, source, "uhs manual") +
           std::string(prose.substr(0, at)) + keys_section() +
           std::string(prose.substr(at + k_marker.size()));
}

} // namespace uhs::config
