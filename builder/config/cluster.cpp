// SPDX-License-Identifier: Apache-2.0
// Cluster file reader. One pass over the YAML reads and checks every field, remembering where
// each value was written; a second pass checks the rules that span fields. Every problem is
// collected so the user fixes the file in one go.
#include "builder/config/cluster.hpp"

#include "builder/config/state_paths.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#ifndef UHS_SOURCE_DIR
#define UHS_SOURCE_DIR ""
#endif

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

std::string_view to_string(BoardModel model) {
    switch (model) {
    case BoardModel::cm5:
        return "cm5";
    case BoardModel::cm5_lite:
        return "cm5-lite";
    case BoardModel::pi5:
        return "pi5";
    case BoardModel::cm4:
        return "cm4";
    case BoardModel::uefi_arm64:
        return "uefi-arm64";
    }
    return "?";
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
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        path.push_back(exe.parent_path().parent_path() / "share" / "uhs" / "overlays");
    }
    if (*UHS_SOURCE_DIR) {
        path.push_back(fs::path(UHS_SOURCE_DIR) / "overlays");
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

namespace {

using Keys = std::initializer_list<std::string_view>;

const std::regex k_dns_label("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
const std::regex
    k_dns_name("([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");
const std::regex k_timezone("[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*");
const std::regex k_ssh_key("(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|"
                           "sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com)"
                           " [A-Za-z0-9+/]{16,}={0,2}( .*)?");
const std::regex k_interface("[A-Za-z0-9_.:-]{1,15}");
const std::regex k_zfs_dataset("[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)+");
const std::regex k_package("[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?");
// A suite name or codename as apt_preferences(5) and `apt-get install PKG/SUITE` take one.
const std::regex k_suite("[A-Za-z0-9][A-Za-z0-9._+~-]*");
// A package name or an fnmatch glob over names, as a preferences "Package:" line holds.
const std::regex k_package_glob("[a-z0-9*?\\[][a-z0-9+.*?\\[\\]!-]*");
const std::regex k_source_name("[a-z0-9][a-z0-9-]*");
const std::regex k_uri("(https?|file)://[^\\s]+");
const std::regex k_k8s_version("[0-9]+\\.[0-9]+(\\.[0-9]+)?");
const std::regex k_endpoint("([a-z0-9.-]+)(:([0-9]{1,5}))?");

bool matches(const std::string& text, const std::regex& pattern) {
    return std::regex_match(text, pattern);
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Null:
        return "nothing";
    case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    default:
        return "nothing";
    }
}

// A child of a mapping with the key node kept, for locations.
struct Entry {
    YAML::Node key;
    YAML::Node value;
};

class Reader {
public:
    Reader(std::string file, fs::path base_dir, const LoadOptions& options)
        : m_file(std::move(file)), m_base_dir(std::move(base_dir)), m_options(options) {}

    Diagnostics take_diagnostics() {
        std::stable_sort(m_diagnostics.begin(), m_diagnostics.end(),
                         [](const Diagnostic& a, const Diagnostic& b) {
                             return std::tie(a.where.line, a.where.column) <
                                    std::tie(b.where.line, b.where.column);
                         });
        return std::move(m_diagnostics);
    }

    SourceLocation at(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.is_null()) {
            return {m_file, 1, 1};
        }
        return {m_file, mark.line + 1, mark.column + 1};
    }

    void error(const SourceLocation& where, const std::string& field, const std::string& message) {
        m_diagnostics.push_back({where, field.empty() ? message : field + ": " + message});
    }

    void error(const YAML::Node& node, const std::string& field, const std::string& message) {
        error(at(node), field, message);
    }

    // Where `field` was read (for cross-field errors); the file start when it was not.
    SourceLocation where(const std::string& field) const {
        auto it = m_where.find(field);
        return it == m_where.end() ? SourceLocation{m_file, 1, 1} : it->second;
    }

    // Checks that `node` is a mapping with only `allowed` keys, each once, and all `required`
    // keys present. Returns its entries by key (first occurrence), or nullopt if not a mapping.
    std::optional<std::map<std::string, Entry>>
    mapping(const YAML::Node& node, const std::string& field, Keys allowed, Keys required) {
        if (!node.IsMap()) {
            error(node, field,
                  std::string(field.empty() ? "the top level must be a mapping"
                                            : "expected a mapping") +
                      ", got " + describe(node));
            return std::nullopt;
        }
        std::map<std::string, Entry> entries;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key = it->first;
            const std::string name = key.IsScalar() ? key.Scalar() : "";
            const std::string child = field.empty() ? name : field + "." + name;
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
                std::string message = "unknown key '" + name + "'";
                const std::vector<std::string_view> candidates(allowed);
                if (auto match = util::closest_match(name, candidates)) {
                    message += " (did you mean '" + *match + "'?)";
                }
                error(key, field, message);
                continue;
            }
            if (entries.contains(name)) {
                error(key, child,
                      "duplicate key (first at line " + std::to_string(at(entries[name].key).line) +
                          ")");
                continue;
            }
            entries.emplace(name, Entry{key, it->second});
        }
        for (std::string_view name : required) {
            const std::string key(name);
            auto it = entries.find(key);
            const std::string child = field.empty() ? key : field + "." + key;
            if (it == entries.end()) {
                error(node, field, "missing required key '" + key + "'");
            } else if (it->second.value.IsNull()) {
                error(it->second.key, child, "must not be empty");
                entries.erase(it);
            }
        }
        return entries;
    }

    // The scalar at `entries[key]`, recorded under `field`. Reports a type error.
    std::optional<std::string> scalar(const std::map<std::string, Entry>& entries,
                                      const std::string& key, const std::string& field) {
        auto it = entries.find(key);
        if (it == entries.end() || it->second.value.IsNull()) {
            return std::nullopt;
        }
        const YAML::Node& value = it->second.value;
        if (!value.IsScalar()) {
            error(value, field, "expected a single value, got " + describe(value));
            return std::nullopt;
        }
        m_where[field] = at(value);
        return value.Scalar();
    }

    // A string matching `pattern`; `what` explains the expected form.
    std::optional<std::string> string(const std::map<std::string, Entry>& entries,
                                      const std::string& key, const std::string& field,
                                      const std::regex& pattern, const std::string& what) {
        auto text = scalar(entries, key, field);
        if (text && !matches(*text, pattern)) {
            error(where(field), field, "'" + *text + "' is not " + what);
            return std::nullopt;
        }
        return text;
    }

    std::optional<Ipv4> ipv4(const std::map<std::string, Entry>& entries, const std::string& key,
                             const std::string& field) {
        auto text = scalar(entries, key, field);
        if (!text) {
            return std::nullopt;
        }
        auto ip = Ipv4::parse(*text);
        if (!ip) {
            error(where(field), field, "'" + *text + "' is not an IPv4 address");
        }
        return ip;
    }

    std::optional<Ipv4Prefix> prefix(const std::map<std::string, Entry>& entries,
                                     const std::string& key, const std::string& field) {
        auto text = scalar(entries, key, field);
        if (!text) {
            return std::nullopt;
        }
        auto parsed = Ipv4Prefix::parse(*text);
        if (!parsed) {
            error(where(field), field,
                  "'" + *text + "' is not an IPv4 network in CIDR form (like 192.168.50.0/24)");
        }
        return parsed;
    }

    std::optional<long> integer(const std::map<std::string, Entry>& entries, const std::string& key,
                                const std::string& field, long min, long max) {
        auto text = scalar(entries, key, field);
        if (!text) {
            return std::nullopt;
        }
        long value = 0;
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (ec != std::errc() || end != text->data() + text->size()) {
            error(where(field), field, "'" + *text + "' is not a whole number");
            return std::nullopt;
        }
        if (value < min || value > max) {
            error(where(field), field,
                  std::to_string(value) + " is out of range (" + std::to_string(min) + " to " +
                      std::to_string(max) + ")");
            return std::nullopt;
        }
        return value;
    }

    // One of `choices`; suggests the closest on a typo.
    std::optional<std::string> choice(const std::map<std::string, Entry>& entries,
                                      const std::string& key, const std::string& field,
                                      Keys choices) {
        auto text = scalar(entries, key, field);
        if (!text) {
            return std::nullopt;
        }
        if (std::find(choices.begin(), choices.end(), *text) != choices.end()) {
            return text;
        }
        std::string allowed;
        for (std::string_view c : choices) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(c);
        }
        std::string message = "'" + *text + "' is not one of " + allowed;
        const std::vector<std::string_view> candidates(choices);
        if (auto match = util::closest_match(*text, candidates)) {
            message += " (did you mean '" + *match + "'?)";
        }
        error(where(field), field, message);
        return std::nullopt;
    }

    // A list of scalars (a single scalar counts as a one-element list).
    std::vector<std::pair<std::string, SourceLocation>>
    strings(const std::map<std::string, Entry>& entries, const std::string& key,
            const std::string& field) {
        std::vector<std::pair<std::string, SourceLocation>> items;
        auto it = entries.find(key);
        if (it == entries.end() || it->second.value.IsNull()) {
            return items;
        }
        const YAML::Node& value = it->second.value;
        m_where[field] = at(value);
        if (value.IsScalar()) {
            items.emplace_back(value.Scalar(), at(value));
            return items;
        }
        if (!value.IsSequence()) {
            error(value, field, "expected a list, got " + describe(value));
            return items;
        }
        std::size_t index = 0;
        for (const YAML::Node& item : value) {
            const std::string item_field = field + "[" + std::to_string(index++) + "]";
            if (!item.IsScalar()) {
                error(item, item_field, "expected a single value, got " + describe(item));
                continue;
            }
            items.emplace_back(item.Scalar(), at(item));
        }
        return items;
    }

    void remember(const std::string& field, const YAML::Node& node) { m_where[field] = at(node); }

    const std::string& file() const { return m_file; }
    const fs::path& base_dir() const { return m_base_dir; }
    const LoadOptions& options() const { return m_options; }

private:
    std::string m_file;
    fs::path m_base_dir;
    const LoadOptions& m_options;
    Diagnostics m_diagnostics;
    std::map<std::string, SourceLocation> m_where;
};

const YAML::Node* find(const std::map<std::string, Entry>& entries, const std::string& key) {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second.value;
}

void read_cluster_info(Reader& r, const YAML::Node& node, ClusterInfo& info) {
    auto m = r.mapping(node, "cluster", {"name", "domain", "timezone", "ssh_authorized_keys"},
                       {"name", "domain"});
    if (!m) {
        return;
    }
    info.name = r.string(*m, "name", "cluster.name", k_dns_label,
                         "a DNS label (lowercase letters, digits and '-', at most 63)")
                    .value_or("");
    info.domain =
        r.string(*m, "domain", "cluster.domain", k_dns_name, "a DNS domain name (lowercase)")
            .value_or("");
    info.timezone = r.string(*m, "timezone", "cluster.timezone", k_timezone,
                             "a time zone name (like Europe/Berlin or UTC)")
                        .value_or("UTC");
    std::size_t index = 0;
    for (auto& [key, where] : r.strings(*m, "ssh_authorized_keys", "cluster.ssh_authorized_keys")) {
        const std::string field = "cluster.ssh_authorized_keys[" + std::to_string(index++) + "]";
        if (!matches(key, k_ssh_key)) {
            r.error(where, field,
                    "not an OpenSSH public key (expected 'TYPE BASE64 [COMMENT]', TYPE like "
                    "ssh-ed25519)");
            continue;
        }
        info.ssh_authorized_keys.push_back(key);
    }
}

void read_network(Reader& r, const YAML::Node& node, Network& network) {
    auto m = r.mapping(node, "network",
                       {"server", "interface", "subnet", "gateway", "dns", "pin_tftp_server"},
                       {"server", "interface", "subnet", "gateway"});
    if (!m) {
        return;
    }
    network.server = r.ipv4(*m, "server", "network.server").value_or(Ipv4{});
    network.interface = r.string(*m, "interface", "network.interface", k_interface,
                                 "a network interface name (at most 15 characters)")
                            .value_or("");
    network.subnet = r.prefix(*m, "subnet", "network.subnet").value_or(Ipv4Prefix{});
    network.gateway = r.ipv4(*m, "gateway", "network.gateway").value_or(Ipv4{});
    std::size_t index = 0;
    for (auto& [text, where] : r.strings(*m, "dns", "network.dns")) {
        const std::string field = "network.dns[" + std::to_string(index++) + "]";
        if (auto ip = Ipv4::parse(text)) {
            network.dns.push_back(*ip);
        } else {
            r.error(where, field, "'" + text + "' is not an IPv4 address");
        }
    }
    if (!find(*m, "dns")) {
        network.dns.push_back(network.gateway);
    }
    network.pin_tftp_server =
        r.choice(*m, "pin_tftp_server", "network.pin_tftp_server", {"true", "false"})
            .value_or("false") == "true";
}

void read_storage(Reader& r, const YAML::Node& node, Storage& storage) {
    auto m = r.mapping(node, "storage", {"truenas", "state", "persist", "ephemeral_control_plane"},
                       {"truenas"});
    if (!m) {
        return;
    }
    if (const YAML::Node* truenas = find(*m, "truenas")) {
        auto t = r.mapping(*truenas, "storage.truenas",
                           {"host", "api_key_file", "dataset", "nfs_version"},
                           {"host", "api_key_file", "dataset"});
        if (t) {
            // An address, not a name: the initramfs mounts the root with klibc's nfsmount,
            // which has no resolver.
            if (auto host = r.scalar(*t, "host", "storage.truenas.host")) {
                if (Ipv4::parse(*host)) {
                    storage.truenas.host = *host;
                } else {
                    r.error(r.where("storage.truenas.host"), "storage.truenas.host",
                            "'" + *host +
                                "' is not an IPv4 address (the initramfs mounts the NFS root "
                                "without DNS)");
                }
            }
            storage.truenas.api_key_file =
                r.scalar(*t, "api_key_file", "storage.truenas.api_key_file").value_or("");
            storage.truenas.dataset =
                r.string(*t, "dataset", "storage.truenas.dataset", k_zfs_dataset,
                         "a ZFS dataset below a pool (like tank/uhs)")
                    .value_or("");
            if (auto version = r.scalar(*t, "nfs_version", "storage.truenas.nfs_version")) {
                if (*version == "3") {
                    storage.truenas.nfs_version = 3;
                } else if (*version == "4") {
                    // The refusal says why, as for storage.state: nfs.
                    r.error(r.where("storage.truenas.nfs_version"), "storage.truenas.nfs_version",
                            "4 cannot mount the root: the initramfs mounts it with klibc's "
                            "nfsmount, which speaks NFS v2 and v3 only (use 3)");
                } else {
                    r.error(r.where("storage.truenas.nfs_version"), "storage.truenas.nfs_version",
                            "'" + *version + "' is not 3");
                }
            }
        }
    }
    if (auto state = r.scalar(*m, "state", "storage.state")) {
        if (*state == "iscsi") {
            storage.state = StateStorage::iscsi;
        } else if (*state == "tmpfs") {
            storage.state = StateStorage::tmpfs;
        } else if (*state == "nfs") {
            r.error(r.where("storage.state"), "storage.state",
                    "'nfs' is refused: containerd's overlayfs snapshotter and kubelet do not work "
                    "on NFS; use iscsi or tmpfs");
        } else {
            std::string message = "'" + *state + "' is not one of iscsi, tmpfs";
            const std::vector<std::string_view> candidates{"iscsi", "tmpfs"};
            if (auto match = util::closest_match(*state, candidates)) {
                message += " (did you mean '" + *match + "'?)";
            }
            r.error(r.where("storage.state"), "storage.state", message);
        }
    }
    if (auto ephemeral = r.choice(*m, "ephemeral_control_plane", "storage.ephemeral_control_plane",
                                  {"true", "false"})) {
        storage.ephemeral_control_plane = *ephemeral == "true";
    }
    std::size_t index = 0;
    for (auto& [path, where] : r.strings(*m, "persist", "storage.persist")) {
        const std::string field = "storage.persist[" + std::to_string(index++) + "]";
        if (std::string problem = persist_path_problem(path); !problem.empty()) {
            r.error(where, field, "'" + path + "' " + problem);
            continue;
        }
        // Two entries must not nest either: each is one bind mount of its own directory.
        std::string clash;
        for (const std::string& other : storage.persist) {
            if (other == path) {
                clash = "is listed twice";
            } else if (path.starts_with(other + "/")) {
                clash = "is inside " + other + ", listed before it";
            } else if (other.starts_with(path + "/")) {
                clash = "holds " + other + ", listed before it";
            }
        }
        if (!clash.empty()) {
            r.error(where, field, "'" + path + "' " + clash);
            continue;
        }
        storage.persist.push_back(path);
    }
}

// True when the file starts like an OpenPGP public key: armored, or a binary public-key packet.
bool looks_like_keyring(const std::string& head) {
    if (head.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
        return true;
    }
    if (head.empty()) {
        return false;
    }
    const auto first = static_cast<unsigned char>(head[0]);
    if ((first & 0x80) == 0) {
        return false;
    }
    const unsigned tag = (first & 0x40) ? (first & 0x3f) : ((first >> 2) & 0x0f);
    return tag == 6;
}

void read_sources(Reader& r, const YAML::Node& node, std::vector<AptSource>& sources) {
    if (!node.IsSequence() || node.size() == 0) {
        r.error(node, "image.sources",
                node.IsSequence() ? "must list at least one APT source"
                                  : "expected a list, got " + describe(node));
        return;
    }
    std::map<std::string, SourceLocation> names;
    std::size_t index = 0;
    for (const YAML::Node& item : node) {
        const std::string field = "image.sources[" + std::to_string(index++) + "]";
        auto m = r.mapping(item, field, {"name", "uri", "suites", "components", "keyring"},
                           {"name", "uri", "suites", "keyring"});
        if (!m) {
            continue;
        }
        AptSource source;
        source.location = r.at(item);
        source.name =
            r.string(*m, "name", field + ".name", k_source_name, "a source name ([a-z0-9-])")
                .value_or("");
        if (!source.name.empty()) {
            auto [it, inserted] = names.emplace(source.name, r.where(field + ".name"));
            if (!inserted) {
                r.error(r.where(field + ".name"), field + ".name",
                        "duplicate source name '" + source.name + "' (first at line " +
                            std::to_string(it->second.line) + ")");
            }
        }
        if (auto uri = r.scalar(*m, "uri", field + ".uri")) {
            if (*uri == "auto" || matches(*uri, k_uri)) {
                source.uri = *uri;
            } else {
                r.error(r.where(field + ".uri"), field + ".uri",
                        "'" + *uri + "' is not 'auto' or an http://, https:// or file:// URI");
            }
        }
        for (auto& [suite, where] : r.strings(*m, "suites", field + ".suites")) {
            source.suites.push_back(suite);
        }
        for (auto& [component, where] : r.strings(*m, "components", field + ".components")) {
            source.components.push_back(component);
        }
        if (source.is_flat() && !source.components.empty()) {
            r.error(r.where(field + ".components"), field + ".components",
                    "a flat repository (suite ending in '/') has no components");
        } else if (!source.suites.empty() && !source.is_flat() && source.components.empty()) {
            r.error(r.where(field + ".suites"), field,
                    "missing 'components' (needed unless the suite is a flat '/')");
        }
        if (source.suites.size() > 1 &&
            std::any_of(source.suites.begin(), source.suites.end(),
                        [](const std::string& s) { return s.ends_with('/'); })) {
            r.error(r.where(field + ".suites"), field + ".suites",
                    "a flat suite ('/') cannot be combined with other suites");
        }
        if (auto keyring = r.scalar(*m, "keyring", field + ".keyring")) {
            const fs::path path = fs::path(*keyring).is_absolute()
                                      ? fs::path(*keyring)
                                      : (r.base_dir() / *keyring).lexically_normal();
            if (r.options().check_keyrings == CheckKeyrings::no) {
                source.keyring = fs::absolute(path);
            } else if (auto head = util::read_file(path); !head) {
                // A keyring that must be fetched by hand (the Raspberry Pi archive's) is
                // explained in the README beside it: say so, so the user knows where to look.
                std::error_code ec;
                const fs::path readme = path.parent_path() / "README.md";
                const bool missing = head.error().code == util::Errc::not_found;
                r.error(r.where(field + ".keyring"), field + ".keyring",
                        "keyring " + path.string() +
                            (missing ? " does not exist" : " cannot be read") +
                            (missing && fs::exists(readme, ec)
                                 ? " (" + readme.string() + " says how to get it)"
                                 : std::string()));
            } else if (!looks_like_keyring(*head)) {
                r.error(r.where(field + ".keyring"), field + ".keyring",
                        path.string() + " is not an OpenPGP public keyring");
            } else {
                source.keyring = fs::absolute(path);
            }
        }
        sources.push_back(std::move(source));
    }
}

// Resolves an overlay name: a path (with '/') relative to the cluster file, or a bare name
// looked up in the search path.
std::optional<fs::path> resolve_overlay(const Reader& r, const std::string& name) {
    std::error_code ec;
    if (name.find('/') != std::string::npos) {
        fs::path path = fs::path(name).is_absolute() ? fs::path(name)
                                                     : (r.base_dir() / name).lexically_normal();
        return fs::is_directory(path, ec) ? std::optional(fs::absolute(path)) : std::nullopt;
    }
    for (const fs::path& dir : r.options().overlay_search_path) {
        if (fs::is_directory(dir / name, ec)) {
            return fs::absolute(dir / name);
        }
    }
    return std::nullopt;
}

// Why `text` is not "PKG" or "PKG/SUITE", or nullopt when it is.
std::optional<std::string> package_request_problem(const std::string& text) {
    PackageRequest request = parse_package_request(text);
    if (text.find('=') != std::string::npos) {
        return "'" + text +
               "' pins a version; uhs takes PKG or PKG/SUITE (select the suite that has the "
               "version, or add an image.pins entry)";
    }
    if (!matches(request.name, k_package)) {
        return "'" + text + "' is not a Debian package name" +
               (text.find('/') == std::string::npos ? "" : " followed by /SUITE");
    }
    if (text.find('/') != std::string::npos && !matches(request.suite, k_suite)) {
        return "'" + text + "': '" + request.suite + "' after '/' is not a suite name";
    }
    return std::nullopt;
}

void read_pins(Reader& r, const YAML::Node& node, std::vector<Pin>& pins) {
    if (!node.IsSequence()) {
        r.error(node, "image.pins", "expected a list, got " + describe(node));
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : node) {
        const std::string field = "image.pins[" + std::to_string(index++) + "]";
        auto m = r.mapping(item, field, {"packages", "suite", "priority"},
                           {"packages", "suite", "priority"});
        if (!m) {
            continue;
        }
        Pin pin;
        pin.location = r.at(item);
        bool ok = true;
        std::size_t glob_index = 0;
        for (auto& [glob, where] : r.strings(*m, "packages", field + ".packages")) {
            const std::string glob_field =
                field + ".packages[" + std::to_string(glob_index++) + "]";
            if (!matches(glob, k_package_glob)) {
                r.error(where, glob_field,
                        "'" + glob + "' is not a package name or a glob (*, ? and [...])");
                ok = false;
                continue;
            }
            pin.packages.push_back(glob);
        }
        if (auto suite = r.string(*m, "suite", field + ".suite", k_suite,
                                  "a suite name or codename (like trixie-backports)")) {
            pin.suite = *suite;
            pin.suite_location = r.where(field + ".suite");
        } else {
            ok = false;
        }
        // apt's Pin-Priority range: a short, and 0 is refused ("No priority (or zero)").
        if (auto priority = r.integer(*m, "priority", field + ".priority", -32767, 32767)) {
            if (*priority == 0) {
                r.error(r.where(field + ".priority"), field + ".priority",
                        "0 is not a pin priority (apt refuses it; use a negative number to "
                        "keep the versions out)");
                ok = false;
            } else {
                pin.priority = static_cast<int>(*priority);
            }
        } else {
            ok = false;
        }
        if (ok && !pin.packages.empty()) {
            pins.push_back(std::move(pin));
        }
    }
}

void read_image(Reader& r, const YAML::Node& node, Image& image) {
    auto m =
        r.mapping(node, "image",
                  {"architecture", "variant", "sources", "packages", "kernel", "pins", "overlays"},
                  {"sources", "packages", "kernel"});
    if (!m) {
        return;
    }
    if (auto arch = r.choice(*m, "architecture", "image.architecture", {"arm64"})) {
        image.architecture = *arch;
    }
    if (auto variant =
            r.choice(*m, "variant", "image.variant", {"minbase", "important", "standard"})) {
        image.variant = *variant == "minbase"     ? Variant::minbase
                        : *variant == "important" ? Variant::important
                                                  : Variant::standard;
    }
    if (const YAML::Node* sources = find(*m, "sources")) {
        read_sources(r, *sources, image.sources);
    }
    std::set<std::string> seen;
    std::size_t index = 0;
    for (auto& [package, where] : r.strings(*m, "packages", "image.packages")) {
        const std::string field = "image.packages[" + std::to_string(index++) + "]";
        if (auto problem = package_request_problem(package)) {
            r.error(where, field, *problem);
        } else if (!seen.insert(parse_package_request(package).name).second) {
            r.error(where, field, "'" + parse_package_request(package).name + "' is listed twice");
        } else {
            image.packages.push_back(package);
            image.package_locations.push_back(where);
        }
    }
    if (auto kernel = r.scalar(*m, "kernel", "image.kernel")) {
        if (auto problem = package_request_problem(*kernel)) {
            r.error(r.where("image.kernel"), "image.kernel", *problem);
        } else {
            image.kernel = *kernel;
            image.kernel_location = r.where("image.kernel");
        }
    }
    if (const YAML::Node* pins = find(*m, "pins")) {
        read_pins(r, *pins, image.pins);
    }
    index = 0;
    for (auto& [name, where] : r.strings(*m, "overlays", "image.overlays")) {
        const std::string field = "image.overlays[" + std::to_string(index++) + "]";
        auto path = resolve_overlay(r, name);
        if (!path) {
            std::string message = "overlay '" + name + "' not found";
            if (name.find('/') == std::string::npos) {
                std::vector<std::string> available;
                std::string searched;
                for (const fs::path& dir : r.options().overlay_search_path) {
                    searched += (searched.empty() ? "" : ":") + dir.string();
                    if (auto names = util::list_dir_sorted(dir)) {
                        available.insert(available.end(), names->begin(), names->end());
                    }
                }
                message += " in " + (searched.empty() ? std::string("(no search path)") : searched);
                const std::vector<std::string_view> candidates(available.begin(), available.end());
                if (auto match = util::closest_match(name, candidates)) {
                    message += " (did you mean '" + *match + "'?)";
                }
            }
            r.error(where, field, message);
            continue;
        }
        image.overlays.push_back(name);
        image.overlay_paths.push_back(*path);
    }
}

void read_kubernetes(Reader& r, const YAML::Node& node, Kubernetes& k8s) {
    auto m = r.mapping(node, "kubernetes",
                       {"version", "pod_cidr", "service_cidr", "control_plane_endpoint"},
                       {"version", "control_plane_endpoint"});
    if (!m) {
        return;
    }
    k8s.version = r.string(*m, "version", "kubernetes.version", k_k8s_version,
                           "a Kubernetes version (like 1.31 or 1.31.2)")
                      .value_or("");
    r.remember("kubernetes.pod_cidr", node);
    r.remember("kubernetes.service_cidr", node);
    k8s.pod_cidr = find(*m, "pod_cidr")
                       ? r.prefix(*m, "pod_cidr", "kubernetes.pod_cidr").value_or(Ipv4Prefix{})
                       : *Ipv4Prefix::parse("10.244.0.0/16");
    k8s.service_cidr =
        find(*m, "service_cidr")
            ? r.prefix(*m, "service_cidr", "kubernetes.service_cidr").value_or(Ipv4Prefix{})
            : *Ipv4Prefix::parse("10.96.0.0/12");
    if (auto endpoint =
            r.scalar(*m, "control_plane_endpoint", "kubernetes.control_plane_endpoint")) {
        std::smatch parts;
        if (!std::regex_match(*endpoint, parts, k_endpoint) ||
            (parts[3].matched && std::stol(parts[3].str()) > 65535)) {
            r.error(r.where("kubernetes.control_plane_endpoint"),
                    "kubernetes.control_plane_endpoint",
                    "'" + *endpoint + "' is not HOST or HOST:PORT");
        } else {
            k8s.control_plane_endpoint = *endpoint;
        }
    }
}

void read_firmware(Reader& r, const YAML::Node& node, Firmware& firmware) {
    auto m = r.mapping(node, "firmware", {"bootloader", "tftp_file_timeout"}, {});
    if (!m) {
        return;
    }
    static const std::regex k_date("(20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])");
    firmware.bootloader = r.string(*m, "bootloader", "firmware.bootloader", k_date,
                                   "a bootloader release date (YYYY-MM-DD, like 2025-09-23)");
    // Milliseconds, as the EEPROM's TFTP_FILE_TIMEOUT (which accepts 5000 and up).
    firmware.tftp_file_timeout_ms = static_cast<int>(
        r.integer(*m, "tftp_file_timeout", "firmware.tftp_file_timeout", 5000, 3600000)
            .value_or(30000));
}

void read_nodes(Reader& r, const YAML::Node& node, std::vector<Node>& nodes) {
    if (!node.IsSequence() || node.size() == 0) {
        r.error(node, "nodes",
                node.IsSequence() ? "must list at least one node"
                                  : "expected a list, got " + describe(node));
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : node) {
        const std::string field = "nodes[" + std::to_string(index++) + "]";
        auto m = r.mapping(item, field,
                           {"name", "slot", "model", "serial", "mac", "ip", "role", "device_tree"},
                           {"name", "slot", "model", "ip", "role"});
        if (!m) {
            continue;
        }
        Node n;
        n.location = r.at(item);
        n.name = r.string(*m, "name", field + ".name", k_dns_label,
                          "a host name (lowercase letters, digits and '-')")
                     .value_or("");
        n.slot = static_cast<int>(r.integer(*m, "slot", field + ".slot", 1, 6).value_or(0));
        if (auto model = r.choice(*m, "model", field + ".model",
                                  {"cm5", "cm5-lite", "pi5", "cm4", "uefi-arm64"})) {
            n.model = *model == "cm5"        ? BoardModel::cm5
                      : *model == "cm5-lite" ? BoardModel::cm5_lite
                      : *model == "pi5"      ? BoardModel::pi5
                      : *model == "cm4"      ? BoardModel::cm4
                                             : BoardModel::uefi_arm64;
        }
        if (auto serial = r.scalar(*m, "serial", field + ".serial")) {
            if (n.model == BoardModel::uefi_arm64) {
                // UEFI PXE sends no Pi serial: such a node is matched by its MAC only.
                r.error(r.where(field + ".serial"), field + ".serial",
                        "a uefi-arm64 node has no Raspberry Pi serial; identify it by mac");
            } else if (util::is_hex(*serial) && (serial->size() == 8 || serial->size() == 16)) {
                n.serial = util::to_lower(*serial);
            } else {
                r.error(r.where(field + ".serial"), field + ".serial",
                        "'" + *serial + "' is not a board serial (8 or 16 hex digits)");
            }
        }
        if (auto mac = r.scalar(*m, "mac", field + ".mac")) {
            n.mac = MacAddress::parse(*mac);
            if (!n.mac) {
                r.error(r.where(field + ".mac"), field + ".mac",
                        "'" + *mac + "' is not a MAC address (like 2c:cf:67:00:00:01)");
            }
        }
        n.ip = r.ipv4(*m, "ip", field + ".ip").value_or(Ipv4{});
        if (auto role = r.choice(*m, "role", field + ".role", {"control-plane", "worker"})) {
            n.role = *role == "control-plane" ? NodeRole::control_plane : NodeRole::worker;
        }
        static const std::regex k_dtb("[A-Za-z0-9][A-Za-z0-9_.+-]*\\.dtb");
        if (auto dtb = r.string(*m, "device_tree", field + ".device_tree", k_dtb,
                                "a device tree file name (like bcm2712-rpi-5-b.dtb)")) {
            if (n.model == BoardModel::uefi_arm64) {
                r.error(r.where(field + ".device_tree"), field + ".device_tree",
                        "a uefi-arm64 node boots with its firmware's own device tree");
            } else {
                n.device_tree = *dtb;
            }
        }
        nodes.push_back(std::move(n));
    }
}

// Rules that span fields. Runs only on values that were read without error.
void check_cross_fields(Reader& r, const Cluster& c) {
    const Network& net = c.network;
    if (net.subnet.length > 0) {
        auto must_be_inside = [&](Ipv4 ip, const std::string& field) {
            if (ip.value == 0) {
                return;
            }
            if (!net.subnet.contains(ip)) {
                r.error(r.where(field), field,
                        ip.to_string() + " is not inside network.subnet " + net.subnet.to_string());
            } else if (ip == net.subnet.network || ip == net.subnet.broadcast()) {
                r.error(r.where(field), field,
                        ip.to_string() + " is the network or broadcast address of " +
                            net.subnet.to_string());
            }
        };
        must_be_inside(net.server, "network.server");
        must_be_inside(net.gateway, "network.gateway");
        for (std::size_t i = 0; i < c.nodes.size(); ++i) {
            must_be_inside(c.nodes[i].ip, "nodes[" + std::to_string(i) + "].ip");
        }
    }
    const Kubernetes& k8s = c.kubernetes;
    auto no_overlap = [&](const Ipv4Prefix& a, const std::string& field, const Ipv4Prefix& b,
                          const std::string& other) {
        if (a.length > 0 && b.length > 0 && a.overlaps(b)) {
            r.error(r.where(field), field,
                    a.to_string() + " overlaps " + other + " " + b.to_string());
        }
    };
    no_overlap(k8s.pod_cidr, "kubernetes.pod_cidr", net.subnet, "network.subnet");
    no_overlap(k8s.service_cidr, "kubernetes.service_cidr", net.subnet, "network.subnet");
    no_overlap(k8s.service_cidr, "kubernetes.service_cidr", k8s.pod_cidr, "kubernetes.pod_cidr");

    // Every identity a node is known by must be unique, including the 8-hex-digit netboot
    // directory that two 16-digit serials may share.
    std::map<std::string, std::pair<std::size_t, std::string>> seen;
    auto unique = [&](const std::string& kind, const std::string& value, std::size_t index,
                      const std::string& field, const std::string& what) {
        auto [it, inserted] = seen.emplace(kind + "\n" + value, std::pair(index, what));
        if (!inserted) {
            r.error(r.where(field), field,
                    what + " is already used by nodes[" + std::to_string(it->second.first) + "] (" +
                        c.nodes[it->second.first].name + ")");
        }
    };
    bool has_control_plane = false;
    for (std::size_t i = 0; i < c.nodes.size(); ++i) {
        const Node& n = c.nodes[i];
        const std::string field = "nodes[" + std::to_string(i) + "]";
        has_control_plane |= n.role == NodeRole::control_plane;
        if (!n.name.empty()) {
            unique("name", n.name, i, field + ".name", "name '" + n.name + "'");
        }
        if (n.slot != 0) {
            unique("slot", std::to_string(n.slot), i, field + ".slot",
                   "slot " + std::to_string(n.slot));
        }
        if (n.serial) {
            unique("serial", serial_prefix(*n.serial), i, field + ".serial",
                   "netboot directory " + serial_prefix(*n.serial) + " (serial " + *n.serial + ")");
        }
        if (n.mac) {
            unique("mac", n.mac->with_colons(), i, field + ".mac", "MAC " + n.mac->with_colons());
        }
        if (n.ip.value != 0) {
            unique("ip", n.ip.to_string(), i, field + ".ip", "address " + n.ip.to_string());
            if (n.ip == net.server) {
                r.error(r.where(field + ".ip"), field + ".ip",
                        n.ip.to_string() + " is network.server's address");
            } else if (n.ip == net.gateway) {
                r.error(r.where(field + ".ip"), field + ".ip",
                        n.ip.to_string() + " is network.gateway's address");
            }
        }
    }
    // A control plane on tmpfs state loses etcd and its PKI at every reboot, and cannot rejoin
    // by itself: only when the file says so.
    if (c.storage.state == StateStorage::tmpfs && !c.storage.ephemeral_control_plane) {
        for (const Node& n : c.nodes) {
            if (n.role == NodeRole::control_plane) {
                r.error(r.where("storage.state"), "storage.state",
                        "tmpfs is refused while " + n.name +
                            " is a control plane: its etcd data and PKI (/var/lib/etcd, "
                            "/etc/kubernetes) would vanish at every reboot; use iscsi, or say "
                            "storage.ephemeral_control_plane: true");
                break;
            }
        }
    }
    if (!c.nodes.empty() && !has_control_plane) {
        r.error(r.where("nodes"), "nodes", "no node has role control-plane (at least one must)");
    }
}

} // namespace

std::expected<Cluster, Diagnostics> parse_cluster(const std::string& text, const fs::path& file,
                                                  const LoadOptions& options) {
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
    auto m = r.mapping(
        root, "",
        {"apiVersion", "cluster", "network", "storage", "image", "kubernetes", "firmware", "nodes"},
        {"apiVersion", "cluster", "network", "storage", "image", "kubernetes", "nodes"});
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
    auto text = util::read_file(file);
    if (!text) {
        const std::string message =
            text.error().code == util::Errc::not_found ? "no such file" : text.error().message;
        return std::unexpected(Diagnostics{{{file.string(), 0, 0}, message}});
    }
    return parse_cluster(*text, file, options);
}

} // namespace uhs::config
