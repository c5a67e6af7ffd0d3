// SPDX-License-Identifier: Apache-2.0
#include "builder/config/cluster_edit.hpp"

#include "builder/config/cluster.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

namespace uhs::config {

using util::Errc;
using util::fail;

namespace {

// The byte just past the scalar that starts at `pos`: a quoted scalar ends at its closing
// quote; a plain one at ',', '}', ']' (in a flow mapping), " #" or the end of the line.
std::size_t scalar_end(const std::string& text, std::size_t pos, bool flow) {
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
        const char quote = text[pos];
        for (std::size_t i = pos + 1; i < text.size(); ++i) {
            if (quote == '"' && text[i] == '\\') {
                ++i;
            } else if (text[i] == quote) {
                if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
                    ++i; // '' is an escaped quote
                    continue;
                }
                return i + 1;
            }
        }
        return text.size();
    }
    std::size_t i = pos;
    while (i < text.size() && text[i] != '\n' &&
           !(flow && (text[i] == ',' || text[i] == '}' || text[i] == ']')) &&
           !(text[i] == '#' && i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t'))) {
        ++i;
    }
    while (i > pos && (text[i - 1] == ' ' || text[i - 1] == '\t')) {
        --i;
    }
    return i;
}

struct Located {
    YAML::Node item;
    bool flow = false;
};

util::Result<Located> find_node(const std::string& text, std::string_view node_name) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_input, "not YAML: ", e.what());
    }
    const YAML::Node nodes = root["nodes"];
    if (!nodes || !nodes.IsSequence()) {
        return fail(Errc::invalid_input, "no nodes: list");
    }
    for (const YAML::Node& item : nodes) {
        if (item.IsMap() && item["name"] && item["name"].IsScalar() &&
            item["name"].Scalar() == node_name) {
            const auto pos = static_cast<std::size_t>(item.Mark().pos);
            return Located{item, pos < text.size() && text[pos] == '{'};
        }
    }
    return fail(Errc::not_found, "no node named ", std::string(node_name));
}

// Sets `key: "value"` in the mapping of node `node_name`, after `after_key` when it is new.
util::Result<std::string> upsert(std::string text, std::string_view node_name,
                                 const std::string& key, const std::string& value,
                                 const std::string& after_key) {
    auto located = UHS_TRY(find_node(text, node_name));
    const std::string quoted = "\"" + value + "\"";
    for (auto it = located.item.begin(); it != located.item.end(); ++it) {
        if (it->first.Scalar() == key) {
            const auto pos = static_cast<std::size_t>(it->second.Mark().pos);
            if (it->second.IsNull() || pos >= text.size()) {
                break; // "serial:" with no value: treated as absent below
            }
            text.replace(pos, scalar_end(text, pos, located.flow) - pos, quoted);
            return text;
        }
    }
    for (auto it = located.item.begin(); it != located.item.end(); ++it) {
        if (it->first.Scalar() != after_key) {
            continue;
        }
        if (located.flow) {
            const auto pos = static_cast<std::size_t>(it->second.Mark().pos);
            text.insert(scalar_end(text, pos, true), ", " + key + ": " + quoted);
        } else {
            const auto key_mark = it->first.Mark();
            std::size_t eol = text.find('\n', static_cast<std::size_t>(key_mark.pos));
            eol = eol == std::string::npos ? text.size() : eol;
            const std::string indent(static_cast<std::size_t>(key_mark.column), ' ');
            text.insert(eol, "\n" + indent + key + ": " + quoted);
        }
        return text;
    }
    return fail(Errc::invalid_input, "node ", std::string(node_name), " has no ", after_key,
                ": to add ", key, ": after");
}

} // namespace

util::Result<std::string> normalise_serial(std::string_view serial) {
    const std::string lower = util::to_lower(util::trim(serial));
    if (!util::is_hex(lower) || (lower.size() != 8 && lower.size() != 16)) {
        return fail(Errc::invalid_input, "'", std::string(serial),
                    "' is not a board serial (8 or 16 hex digits)");
    }
    return lower;
}

util::Result<std::string> set_node_identity(const std::string& text,
                                            const std::filesystem::path& file,
                                            std::string_view node_name,
                                            const NodeIdentity& identity) {
    const std::string serial = UHS_TRY(normalise_serial(identity.serial));
    std::optional<std::string> mac;
    if (identity.mac) {
        auto parsed = MacAddress::parse(*identity.mac);
        if (!parsed) {
            return fail(Errc::invalid_input, "'", *identity.mac, "' is not a MAC address");
        }
        mac = parsed->with_colons();
    }
    std::string edited = UHS_TRY(upsert(text, node_name, "serial", serial, "model"));
    if (mac) {
        edited = UHS_TRY(upsert(edited, node_name, "mac", *mac, "serial"));
    }
    // The whole file must still be a valid cluster, with this node carrying the new identity.
    LoadOptions options{default_overlay_search_path()};
    auto cluster = parse_cluster(edited, file, options);
    if (!cluster) {
        return fail(Errc::invalid_input, "enrolling ", std::string(node_name), " would make ",
                    file.string(), " invalid: ", cluster.error().front().to_string());
    }
    for (const Node& n : cluster->nodes) {
        if (n.name == node_name && n.serial == serial &&
            (!mac || (n.mac && n.mac->with_colons() == *mac))) {
            return edited;
        }
    }
    return fail(Errc::failed, "internal error: the edited cluster file does not carry the new ",
                "serial for ", std::string(node_name));
}

util::Status enroll(const std::filesystem::path& cluster_file, std::string_view node_name,
                    const NodeIdentity& identity) {
    const std::string text = UHS_TRY(util::read_input_file(cluster_file, 1u << 20));
    const std::string edited = UHS_TRY(set_node_identity(text, cluster_file, node_name, identity));
    struct stat st {};
    const unsigned mode = ::stat(cluster_file.c_str(), &st) == 0 ? (st.st_mode & 07777u) : 0644u;
    return util::write_file_atomic(cluster_file, edited, mode);
}

} // namespace uhs::config
