// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/dpkg_db.hpp"

#include "builder/apt/deb822.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace uhs::rootfs {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

// dpkg's fieldinfos[] order (lib/dpkg/parse.c); fields not listed follow in control order.
constexpr std::array<std::string_view, 28> k_field_order = {
    "Package",      "Essential",        "Protected",        "Status",      "Priority",
    "Section",      "Installed-Size",   "Origin",           "Maintainer",  "Bugs",
    "Architecture", "Multi-Arch",       "Source",           "Version",     "Config-Version",
    "Replaces",     "Provides",         "Depends",          "Pre-Depends", "Recommends",
    "Suggests",     "Breaks",           "Conflicts",        "Enhances",    "Conffiles",
    "Description",  "Triggers-Pending", "Triggers-Awaited",
};

bool iequals(std::string_view a, std::string_view b) {
    return util::to_lower(a) == util::to_lower(b);
}

std::string_view field(const DpkgPackage& package, std::string_view name) {
    for (const auto& [key, value] : package.control) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return {};
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(":");
    // Multi-line values (Description, Conffiles) keep their continuation lines indented.
    bool first = true;
    for (std::string_view line : util::split(value, '\n')) {
        if (first) {
            if (!line.empty()) {
                out.append(" ");
                out.append(line);
            }
            first = false;
        } else {
            out.append("\n ");
            out.append(line);
        }
    }
    out.append("\n");
}

std::string info_name(const DpkgPackage& package) {
    return package.multi_arch_same() ? package.name() + ":" + package.architecture()
                                     : package.name();
}

constexpr std::array<std::string_view, 5> k_scripts = {"preinst", "postinst", "prerm", "postrm",
                                                       "config"};

} // namespace

std::string DpkgPackage::name() const {
    return std::string(field(*this, "Package"));
}
std::string DpkgPackage::architecture() const {
    return std::string(field(*this, "Architecture"));
}
bool DpkgPackage::multi_arch_same() const {
    return field(*this, "Multi-Arch") == "same";
}

std::string format_status_stanza(const DpkgPackage& package) {
    std::string conffiles;
    for (const auto& [path, md5] : package.conffiles) {
        conffiles += "\n" + path + " " + md5;
    }
    std::string out;
    for (std::string_view name : k_field_order) {
        if (name == "Status") {
            append_field(out, name, package.status);
        } else if (name == "Conffiles") {
            if (!conffiles.empty()) {
                append_field(out, name, conffiles);
            }
        } else if (auto value = field(package, name); !value.empty()) {
            append_field(out, name, value);
        }
    }
    for (const auto& [key, value] : package.control) {
        const bool known = std::any_of(k_field_order.begin(), k_field_order.end(),
                                       [&](std::string_view f) { return iequals(f, key); });
        if (!known) {
            append_field(out, key, value);
        }
    }
    return out;
}

util::Status write_dpkg_database(const fs::path& root, const DpkgDatabase& db) {
    const fs::path dpkg = root / "var/lib/dpkg";
    for (const char* dir : {"info", "updates", "triggers", "alternatives"}) {
        UHS_CHECK(util::create_dirs(dpkg / dir));
    }
    std::vector<const DpkgPackage*> sorted;
    for (const DpkgPackage& p : db.packages) {
        if (p.name().empty()) {
            return fail(Errc::invalid_input, "dpkg database: a package without a Package field");
        }
        sorted.push_back(&p);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const DpkgPackage* a, const DpkgPackage* b) { return a->name() < b->name(); });
    std::string status;
    for (const DpkgPackage* p : sorted) {
        status += format_status_stanza(*p) + "\n";
        const std::string base = info_name(*p);
        std::string list;
        for (const std::string& path : p->paths) {
            list += path + "\n";
        }
        UHS_CHECK(util::write_file_atomic(dpkg / "info" / (base + ".list"), list));
        for (const auto& [name, content] : p->control_files) {
            if (name == "control" || name.find('/') != std::string::npos) {
                continue;
            }
            const bool script =
                std::find(k_scripts.begin(), k_scripts.end(), name) != k_scripts.end();
            UHS_CHECK(util::write_file_atomic(dpkg / "info" / (base + "." + name), content,
                                              script ? 0755 : 0644));
        }
    }
    UHS_CHECK(util::write_file_atomic(dpkg / "status", status));
    UHS_CHECK(util::write_file_atomic(dpkg / "available", ""));
    UHS_CHECK(util::write_file_atomic(dpkg / "arch", db.architecture + "\n"));
    return {};
}

util::Result<std::map<std::string, std::string>> read_dpkg_status(const fs::path& root) {
    const fs::path path = root / "var/lib/dpkg/status";
    const std::string text = UHS_TRY(util::read_file(path));
    const auto paragraphs = UHS_TRY(apt::parse_deb822(text, path.string()));
    std::map<std::string, std::string> status;
    for (const apt::Paragraph& p : paragraphs) {
        status[std::string(p.get_or_empty("Package"))] = std::string(p.get_or_empty("Status"));
    }
    return status;
}

} // namespace uhs::rootfs
