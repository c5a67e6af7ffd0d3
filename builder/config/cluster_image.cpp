// SPDX-License-Identifier: Apache-2.0
// Validation of the cluster file's image section: APT sources and their keyrings, package
// requests, pins and overlays.
#include "builder/config/cluster_reader.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <regex>
#include <set>

namespace uhs::config::detail {

namespace fs = std::filesystem;

namespace {

const std::regex k_package("[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?");
// A suite name or codename as apt_preferences(5) and `apt-get install PKG/SUITE` take one.
const std::regex k_suite("[A-Za-z0-9][A-Za-z0-9._+~-]*");
// A package name or an fnmatch glob over names, as a preferences "Package:" line holds.
const std::regex k_package_glob("[a-z0-9*?\\[][a-z0-9+.*?\\[\\]!-]*");
const std::regex k_source_name("[a-z0-9][a-z0-9-]*");
const std::regex k_uri("(https?|file)://[^\\s]+");

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
    if (!r.non_empty_list(node, "image.sources", "must list at least one APT source")) {
        return;
    }
    std::map<std::string, SourceLocation> names;
    std::size_t index = 0;
    for (const YAML::Node& item : node) {
        const std::string field = "image.sources[" + std::to_string(index++) + "]";
        auto m = r.mapping(item, field, ClusterSection::image_sources);
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
        auto m = r.mapping(item, field, ClusterSection::image_pins);
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

} // namespace

void read_image(Reader& r, const YAML::Node& node, Image& image) {
    auto m = r.mapping(node, "image", ClusterSection::image);
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

} // namespace uhs::config::detail
