// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/control.hpp"

#include "builder/apt/deb822.hpp"
#include "builder/util/strings.hpp"

#include <charconv>

namespace uhs::apt {
namespace {

util::Result<DependencyAtom> parse_atom(std::string_view text) {
    // Drop architecture restrictions and build profiles: they only matter for source packages.
    std::string cleaned;
    bool in_parens = false;
    char skip_until = 0;
    for (char c : text) {
        if (skip_until != 0) {
            if (c == skip_until) {
                skip_until = 0;
            }
            continue;
        }
        if (!in_parens && c == '[') {
            skip_until = ']';
            continue;
        }
        if (!in_parens && c == '<') {
            skip_until = '>';
            continue;
        }
        if (c == '(') {
            in_parens = true;
        } else if (c == ')') {
            in_parens = false;
        }
        cleaned.push_back(c);
    }
    std::string_view rest = util::trim(cleaned);
    DependencyAtom atom;
    std::size_t name_end = rest.find_first_of(" \t(");
    std::string_view name = rest.substr(0, name_end);
    rest =
        name_end == std::string_view::npos ? std::string_view{} : util::trim(rest.substr(name_end));
    if (name.empty()) {
        return util::fail(util::Errc::invalid_input, "empty package name in \"", std::string(text),
                          "\"");
    }
    if (auto colon = name.find(':'); colon != std::string_view::npos) {
        atom.arch_qualifier = std::string(name.substr(colon + 1));
        name = name.substr(0, colon);
    }
    atom.name = std::string(name);
    if (!rest.empty()) {
        if (rest.front() != '(' || rest.back() != ')') {
            return util::fail(util::Errc::invalid_input, "malformed relation \"", std::string(text),
                              "\"");
        }
        std::string_view inner = util::trim(rest.substr(1, rest.size() - 2));
        std::size_t op_end = 0;
        while (op_end < inner.size() &&
               (inner[op_end] == '<' || inner[op_end] == '>' || inner[op_end] == '=')) {
            ++op_end;
        }
        std::string_view op = inner.substr(0, op_end);
        if (op == "<<") {
            atom.relation = Relation::lt;
        } else if (op == "<=" || op == "<") {
            atom.relation = Relation::le;
        } else if (op == "=") {
            atom.relation = Relation::eq;
        } else if (op == ">=" || op == ">") {
            atom.relation = Relation::ge;
        } else if (op == ">>") {
            atom.relation = Relation::gt;
        } else {
            return util::fail(util::Errc::invalid_input, "unknown operator in \"",
                              std::string(text), "\"");
        }
        atom.version = std::string(util::trim(inner.substr(op_end)));
        if (atom.version.empty()) {
            return util::fail(util::Errc::invalid_input, "missing version in \"", std::string(text),
                              "\"");
        }
    }
    return atom;
}

util::Result<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
        return util::fail(util::Errc::invalid_input, "not a number: \"", std::string(text), "\"");
    }
    return value;
}

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool all_of(std::string_view text, std::string_view extra, bool (*base)(char)) {
    for (char c : text) {
        if (!base(c) && extra.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

} // namespace

bool valid_package_name(std::string_view name) {
    return !name.empty() && is_lower_alnum(name.front()) && all_of(name, "+.-", is_lower_alnum);
}

bool valid_version(std::string_view version) {
    std::string_view rest = version;
    if (auto colon = rest.find(':'); colon != std::string_view::npos) {
        std::string_view epoch = rest.substr(0, colon);
        if (epoch.empty() || !all_of(epoch, "", [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        rest.remove_prefix(colon + 1);
    }
    std::string_view upstream = rest;
    if (auto dash = rest.rfind('-'); dash != std::string_view::npos) {
        std::string_view revision = rest.substr(dash + 1);
        if (revision.empty() || !all_of(revision, ".+~", is_alnum)) {
            return false;
        }
        upstream = rest.substr(0, dash);
    }
    return !upstream.empty() && all_of(upstream, ".+~:-", is_alnum);
}

bool valid_architecture(std::string_view architecture) {
    return !architecture.empty() && is_lower_alnum(architecture.front()) &&
           all_of(architecture, "-", is_lower_alnum);
}

util::Status check_pool_path(std::string_view path) {
    if (path.empty()) {
        return util::fail(util::Errc::invalid_input, "empty path");
    }
    if (path.front() == '/') {
        return util::fail(util::Errc::invalid_input, "absolute path \"", std::string(path),
                          "\" (must be relative to the repository)");
    }
    for (char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '=') {
            return util::fail(util::Errc::invalid_input,
                              "path contains whitespace, a control character or '='");
        }
    }
    for (std::string_view component : util::split(path, '/')) {
        if (component.empty() || component == "." || component == "..") {
            return util::fail(util::Errc::invalid_input, "path \"", std::string(path),
                              "\" has an empty, \".\" or \"..\" component");
        }
    }
    return {};
}

std::string DependencyAtom::to_string() const {
    std::string out = name;
    if (!arch_qualifier.empty()) {
        out += ":" + arch_qualifier;
    }
    if (relation != Relation::any) {
        out += " (";
        out += apt::to_string(relation);
        out += " " + version + ")";
    }
    return out;
}

util::Result<std::vector<DependencyGroup>> parse_relationships(std::string_view field) {
    std::vector<DependencyGroup> groups;
    for (std::string_view group_text : util::split(field, ',')) {
        if (util::trim(group_text).empty()) {
            continue;
        }
        DependencyGroup group;
        for (std::string_view alternative : util::split(group_text, '|')) {
            group.push_back(UHS_TRY(parse_atom(alternative)));
        }
        groups.push_back(std::move(group));
    }
    return groups;
}

Priority parse_priority(std::string_view text) {
    if (text == "required") {
        return Priority::required;
    }
    if (text == "important") {
        return Priority::important;
    }
    if (text == "standard") {
        return Priority::standard;
    }
    if (text == "optional") {
        return Priority::optional;
    }
    if (text == "extra") {
        return Priority::extra;
    }
    return Priority::unknown;
}

util::Result<std::vector<PackageRecord>> parse_packages(std::string_view text,
                                                        std::string_view origin) {
    auto paragraphs = UHS_TRY(parse_deb822(text, origin));
    std::vector<PackageRecord> records;
    records.reserve(paragraphs.size());
    for (const Paragraph& p : paragraphs) {
        auto where = [&](std::string_view field) {
            return std::string(origin) + ":" + std::to_string(p.line) + ": " + std::string(field);
        };
        PackageRecord r;
        for (std::string_view required : {"Package", "Version", "Architecture", "Filename"}) {
            if (p.get_or_empty(required).empty()) {
                return util::fail(util::Errc::invalid_input, where(required), ": missing");
            }
        }
        r.name = std::string(p.get_or_empty("Package"));
        r.version = std::string(p.get_or_empty("Version"));
        r.architecture = std::string(p.get_or_empty("Architecture"));
        r.filename = std::string(p.get_or_empty("Filename"));
        if (!valid_package_name(r.name)) {
            return util::fail(util::Errc::invalid_input, where("Package"), ": invalid name \"",
                              r.name.substr(0, 80), "\"");
        }
        if (!valid_version(r.version)) {
            return util::fail(util::Errc::invalid_input, where("Version"), ": invalid version \"",
                              r.version.substr(0, 80), "\"");
        }
        if (!valid_architecture(r.architecture)) {
            return util::fail(util::Errc::invalid_input, where("Architecture"),
                              ": invalid architecture \"", r.architecture.substr(0, 80), "\"");
        }
        if (auto path = check_pool_path(r.filename); !path) {
            return util::fail(util::Errc::invalid_input, where("Filename"), ": ",
                              path.error().message);
        }
        auto size = parse_u64(p.get_or_empty("Size"));
        if (!size) {
            return util::fail(util::Errc::invalid_input, where("Size"), ": ", size.error().message);
        }
        r.size = *size;
        r.sha256 = util::to_lower(p.get_or_empty("SHA256"));
        if (r.sha256.size() != 64 || !util::is_hex(r.sha256)) {
            return util::fail(util::Errc::invalid_input, where("SHA256"),
                              ": missing or not 64 hex digits");
        }
        std::string_view source = p.get_or_empty("Source");
        r.source_version = r.version;
        if (source.empty()) {
            r.source = r.name;
        } else if (auto paren = source.find('('); paren != std::string_view::npos) {
            r.source = std::string(util::trim(source.substr(0, paren)));
            std::string_view v = source.substr(paren + 1);
            r.source_version = std::string(util::trim(v.substr(0, v.find(')'))));
        } else {
            r.source = std::string(source);
        }
        if (!valid_package_name(r.source) || !valid_version(r.source_version)) {
            return util::fail(util::Errc::invalid_input, where("Source"),
                              ": invalid source name or version \"",
                              std::string(source.substr(0, 80)), "\"");
        }
        std::string_view ma = p.get_or_empty("Multi-Arch");
        r.multi_arch = ma == "same"      ? MultiArch::same
                       : ma == "foreign" ? MultiArch::foreign
                       : ma == "allowed" ? MultiArch::allowed
                                         : MultiArch::no;
        r.priority = parse_priority(p.get_or_empty("Priority"));
        r.essential = p.get_or_empty("Essential") == "yes";
        struct Field {
            std::string_view name;
            std::vector<DependencyGroup>* out;
        };
        for (Field f : {Field{"Pre-Depends", &r.pre_depends}, Field{"Depends", &r.depends},
                        Field{"Conflicts", &r.conflicts}, Field{"Breaks", &r.breaks}}) {
            auto parsed = parse_relationships(p.get_or_empty(f.name));
            if (!parsed) {
                return util::fail(util::Errc::invalid_input, where(f.name), ": ",
                                  parsed.error().message);
            }
            *f.out = std::move(*parsed);
        }
        auto provides = parse_relationships(p.get_or_empty("Provides"));
        if (!provides) {
            return util::fail(util::Errc::invalid_input, where("Provides"), ": ",
                              provides.error().message);
        }
        for (DependencyGroup& g : *provides) {
            for (DependencyAtom& a : g) {
                r.provides.push_back(std::move(a));
            }
        }
        records.push_back(std::move(r));
    }
    return records;
}

} // namespace uhs::apt
