// SPDX-License-Identifier: Apache-2.0
// Cluster file reader. One pass over the YAML reads and checks every field, remembering where
// each value was written (cluster_reader.cpp, per section cluster_sections.cpp and
// cluster_image.cpp); a second pass checks the rules that span fields (cluster_rules.cpp).
// Every problem is collected so the user fixes the file in one go.
#include "builder/config/cluster.hpp"

#include "builder/config/cluster_reader.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <cstdlib>

#include <yaml-cpp/yaml.h>

namespace uhs::config {

namespace fs = std::filesystem;

std::string Diagnostic::to_string(std::string_view severity) const {
    const std::string label = std::string(": ") + std::string(severity) + ": ";
    if (where.line == 0) {
        return where.file + label + message;
    }
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
           label + message;
}

std::string_view to_string(NodeRole role) {
    return role == NodeRole::control_plane ? "control-plane" : "worker";
}

std::string_view to_string(StateStorage state) {
    return state == StateStorage::iscsi ? "iscsi" : "tmpfs";
}

std::string_view to_string(Variant variant) {
    switch (variant) {
    case Variant::minbase:
        return "minbase";
    case Variant::important:
        return "important";
    case Variant::standard:
        return "standard";
    }
    return "?";
}

PackageRequest parse_package_request(std::string_view text) {
    std::size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        return {std::string(text), ""};
    }
    return {std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

std::optional<std::string> Node::serial_directory() const {
    return serial ? std::optional(serial_prefix(*serial)) : std::nullopt;
}

std::optional<std::string> Node::mac_directory() const {
    return mac ? std::optional(mac->with_dashes()) : std::nullopt;
}

std::vector<fs::path> default_overlay_search_path() {
    std::vector<fs::path> path;
    if (const char* env = std::getenv("UHS_OVERLAY_PATH"); env && *env) {
        for (std::string_view dir : util::split(env, ':')) {
            if (!dir.empty()) {
                path.emplace_back(dir);
            }
        }
    }
    // PREFIX/bin/uhs-image finds PREFIX/share/uhs/overlays; no source path is compiled in, so
    // an installed tool never reads a checkout. In a build tree that directory is a symlink to
    // the checkout's overlays/ (cmake/UhsInstall.cmake, uhs_build_tree_overlays).
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        path.push_back(exe.parent_path().parent_path() / "share" / "uhs" / "overlays");
    }
    // Drop repeats, keeping the first place of each directory.
    std::vector<fs::path> unique;
    for (const fs::path& dir : path) {
        if (std::find(unique.begin(), unique.end(), dir) == unique.end()) {
            unique.push_back(dir);
        }
    }
    return unique;
}

std::expected<Cluster, Diagnostics> parse_cluster(const std::string& text, const fs::path& file,
                                                  const LoadOptions& options) {
    using namespace detail;
    const fs::path base_dir = file.parent_path();
    Reader r(file.string(), base_dir, options);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        return std::unexpected(Diagnostics{
            {{file.string(), e.mark.line + 1, e.mark.column + 1}, "invalid YAML: " + e.msg}});
    }
    Cluster c;
    c.file = file;
    auto m = r.mapping(root, "", ClusterSection::top);
    if (!m) {
        return std::unexpected(r.take_diagnostics());
    }
    if (auto version = r.scalar(*m, "apiVersion", "apiVersion")) {
        if (*version != "uhs/v1") {
            r.error(r.where("apiVersion"), "apiVersion",
                    "'" + *version + "' is not supported (this uhs reads uhs/v1)");
        }
        c.api_version = *version;
    }
    if (const YAML::Node* n = find(*m, "cluster")) {
        read_cluster_info(r, *n, c.cluster);
    }
    if (const YAML::Node* n = find(*m, "network")) {
        read_network(r, *n, c.network);
    }
    if (const YAML::Node* n = find(*m, "storage")) {
        read_storage(r, *n, c.storage);
    }
    if (const YAML::Node* n = find(*m, "image")) {
        read_image(r, *n, c.image);
    }
    if (const YAML::Node* n = find(*m, "kubernetes")) {
        read_kubernetes(r, *n, c.kubernetes);
    }
    if (const YAML::Node* n = find(*m, "firmware")) {
        read_firmware(r, *n, c.firmware);
    }
    if (const YAML::Node* n = find(*m, "nodes")) {
        r.remember("nodes", *n);
        read_nodes(r, *n, c.nodes);
    }
    check_cross_fields(r, c);
    Diagnostics diagnostics = r.take_diagnostics();
    if (!diagnostics.empty()) {
        return std::unexpected(std::move(diagnostics));
    }
    return c;
}

std::expected<Cluster, Diagnostics> load_cluster(const fs::path& file, const LoadOptions& options) {
    // A cluster file is a few kB; 1 MiB is far beyond any real one.
    auto text = util::read_input_file(file, 1u << 20);
    if (!text) {
        const std::string message =
            text.error().code == util::Errc::not_found ? "no such file" : text.error().message;
        return std::unexpected(Diagnostics{{{util::printable(file.string()), 0, 0}, message}});
    }
    auto cluster = parse_cluster(*text, file, options);
    if (!cluster) {
        // The messages quote the file (keys, values, yaml-cpp's own): what a hostile file holds
        // reaches no terminal raw, no JSON output as invalid UTF-8, and no screen 50 MB long.
        for (Diagnostic& d : cluster.error()) {
            d.where.file = util::printable(d.where.file);
            d.message = util::printable(d.message);
        }
    }
    return cluster;
}

} // namespace uhs::config
