// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/dpkg_log.hpp"

#include "builder/util/strings.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>

namespace uhs::rootfs {
namespace {

// "2026-12-08 00:05:58" as seconds; the zone does not matter, only differences are used.
std::optional<std::int64_t> timestamp(std::string_view date, std::string_view time) {
    std::tm tm{};
    const std::string text = std::string(date) + " " + std::string(time);
    const char* end = ::strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(::timegm(&tm));
}

std::string package_name(std::string_view qualified) {
    return std::string(qualified.substr(0, qualified.find(':')));
}

} // namespace

DpkgLogSummary summarize_dpkg_log(std::string_view log) {
    DpkgLogSummary summary;
    std::map<std::string, DpkgTime> by_package;
    std::optional<std::int64_t> previous;
    std::string in_trigger; // the package whose trigger dpkg is processing (after "trigproc")
    for (std::string_view line : util::split(log, '\n')) {
        std::vector<std::string_view> words;
        for (std::string_view word : util::split(util::trim(line), ' ')) {
            if (!word.empty()) {
                words.push_back(word);
            }
        }
        if (words.size() < 4) {
            continue;
        }
        const auto now = timestamp(words[0], words[1]);
        if (!now) {
            continue;
        }
        // A log that spans two dpkg runs: the time between them was not dpkg's.
        const double seconds =
            previous && *now >= *previous && words[2] != "startup" ? double(*now - *previous) : 0;
        previous = *now;
        const std::string_view action = words[2];
        std::string package;
        double DpkgTime::*part = nullptr;
        if (action == "install" || action == "upgrade") {
            package = package_name(words[3]);
            part = &DpkgTime::prepare;
            in_trigger.clear();
        } else if (action == "status" && words.size() >= 5) {
            package = package_name(words[4]);
            const std::string_view state = words[3];
            if (package == in_trigger) {
                part = &DpkgTime::triggers; // the state the trigger's postinst run ends in
            } else if (state == "half-installed" || state == "unpacked") {
                part = &DpkgTime::unpack;
            } else if (state == "half-configured" || state == "installed") {
                part = &DpkgTime::configure;
            } else {
                part = &DpkgTime::triggers; // triggers-pending, triggers-awaited
            }
        } else if (action == "trigproc") {
            package = package_name(words[3]);
            part = &DpkgTime::triggers;
            in_trigger = package;
        } else if (action == "configure") {
            package = package_name(words[3]);
            part = &DpkgTime::configure;
            in_trigger.clear();
        } else {
            continue; // startup, conffile, remove, purge: no time of an install's part
        }
        DpkgTime& entry = by_package[package];
        entry.package = package;
        entry.*part += seconds;
    }
    for (auto& [name, entry] : by_package) {
        summary.prepare += entry.prepare;
        summary.unpack += entry.unpack;
        summary.configure += entry.configure;
        summary.triggers += entry.triggers;
        summary.packages.push_back(std::move(entry));
    }
    std::stable_sort(summary.packages.begin(), summary.packages.end(),
                     [](const DpkgTime& a, const DpkgTime& b) { return a.total() > b.total(); });
    return summary;
}

std::string format_dpkg_summary(const DpkgLogSummary& summary, std::size_t top) {
    auto whole = [](double seconds) {
        return std::to_string(static_cast<long long>(seconds));
    };
    std::vector<const DpkgTime*> scripts;
    for (const DpkgTime& p : summary.packages) {
        if (p.configure > 0) {
            scripts.push_back(&p);
        }
    }
    std::stable_sort(scripts.begin(), scripts.end(), [](const DpkgTime* a, const DpkgTime* b) {
        return a->configure > b->configure;
    });
    std::string text = "configure " + whole(summary.configure) + " s";
    for (std::size_t i = 0; i < scripts.size() && i < top; ++i) {
        text += (i == 0 ? " (" : ", ") + scripts[i]->package + " " + whole(scripts[i]->configure);
    }
    if (!scripts.empty() && top > 0) {
        text += ")";
    }
    text += ", prepare " + whole(summary.prepare) + " s, unpack " + whole(summary.unpack) +
            " s, triggers " + whole(summary.triggers) + " s";
    return text;
}

} // namespace uhs::rootfs
