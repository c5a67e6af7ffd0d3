// SPDX-License-Identifier: Apache-2.0
// The cluster file reader's inside, shared by its files (not for use outside builder/config):
// the schema walk that reads a value and remembers where it was written (cluster_reader.cpp),
// the per-section readers (cluster_sections.cpp, cluster_image.cpp) and the rules that span
// fields (cluster_rules.cpp).
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/config/cluster_schema.hpp"

#include <initializer_list>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace uhs::config::detail {

using Keys = std::initializer_list<std::string_view>;

bool matches(const std::string& text, const std::regex& pattern);

// "nothing", "'VALUE'", "a list" or "a mapping": what the file has where something else was due.
std::string describe(const YAML::Node& node);

// A child of a mapping with the key node kept, for locations.
struct Entry {
    YAML::Node key;
    YAML::Node value;
};
using Fields = std::map<std::string, Entry>;

// Reads values out of the YAML tree, collecting every problem with where it was written.
class Reader {
public:
    Reader(std::string file, std::filesystem::path base_dir, const LoadOptions& options)
        : m_file(std::move(file)), m_base_dir(std::move(base_dir)), m_options(options) {}

    // Every problem so far, in file order.
    Diagnostics take_diagnostics();

    SourceLocation at(const YAML::Node& node) const;

    void error(const SourceLocation& where, const std::string& field, const std::string& message) {
        m_diagnostics.push_back({where, field.empty() ? message : field + ": " + message});
    }

    void error(const YAML::Node& node, const std::string& field, const std::string& message) {
        error(at(node), field, message);
    }

    // Where `field` was read (for cross-field errors); the file start when it was not.
    SourceLocation where(const std::string& field) const;

    // Checks that `node` is a mapping with only the keys `section` allows (cluster_schema.cpp),
    // each once, and all it requires present. Returns its entries by key (first occurrence), or
    // nullopt if not a mapping.
    std::optional<Fields> mapping(const YAML::Node& node, const std::string& field,
                                  ClusterSection section);

    // The scalar at `entries[key]`, recorded under `field`. Reports a type error.
    std::optional<std::string> scalar(const Fields& entries, const std::string& key,
                                      const std::string& field);

    // A string matching `pattern`; `what` explains the expected form.
    std::optional<std::string> string(const Fields& entries, const std::string& key,
                                      const std::string& field, const std::regex& pattern,
                                      const std::string& what);

    std::optional<Ipv4> ipv4(const Fields& entries, const std::string& key,
                             const std::string& field);

    std::optional<Ipv4Prefix> prefix(const Fields& entries, const std::string& key,
                                     const std::string& field);

    std::optional<long> integer(const Fields& entries, const std::string& key,
                                const std::string& field, long min, long max);

    // One of `choices`; suggests the closest on a typo.
    std::optional<std::string> choice(const Fields& entries, const std::string& key,
                                      const std::string& field, Keys choices);
    std::optional<std::string> choice(const Fields& entries, const std::string& key,
                                      const std::string& field,
                                      const std::vector<std::string_view>& choices);

    // A list of scalars (a single scalar counts as a one-element list).
    std::vector<std::pair<std::string, SourceLocation>>
    strings(const Fields& entries, const std::string& key, const std::string& field);

    // True when `node` is a list with an item; else reports `empty` (for an empty list) or
    // what the file has instead.
    bool non_empty_list(const YAML::Node& node, const std::string& field, const std::string& empty);

    void remember(const std::string& field, const YAML::Node& node) { m_where[field] = at(node); }

    const std::string& file() const { return m_file; }
    const std::filesystem::path& base_dir() const { return m_base_dir; }
    const LoadOptions& options() const { return m_options; }

private:
    std::string m_file;
    std::filesystem::path m_base_dir;
    const LoadOptions& m_options;
    Diagnostics m_diagnostics;
    std::map<std::string, SourceLocation> m_where;
};

// The value at `entries[key]`, or nullptr.
const YAML::Node* find(const Fields& entries, const std::string& key);

// One reader per top-level section (cluster_sections.cpp, cluster_image.cpp).
void read_cluster_info(Reader& r, const YAML::Node& node, ClusterInfo& info);
void read_network(Reader& r, const YAML::Node& node, Network& network);
void read_storage(Reader& r, const YAML::Node& node, Storage& storage);
void read_image(Reader& r, const YAML::Node& node, Image& image);
void read_kubernetes(Reader& r, const YAML::Node& node, Kubernetes& k8s);
void read_firmware(Reader& r, const YAML::Node& node, Firmware& firmware);
void read_nodes(Reader& r, const YAML::Node& node, std::vector<Node>& nodes);

// Rules that span fields (cluster_rules.cpp). Runs only on values that were read without error.
void check_cross_fields(Reader& r, const Cluster& c);

} // namespace uhs::config::detail
