// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/release.hpp"

#include "builder/apt/deb822.hpp"
#include "builder/util/strings.hpp"

#include <charconv>
#include <cstring>

namespace uhs::apt {
namespace {

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t start = text.find_first_not_of(" \t\n", pos);
        if (start == std::string_view::npos) {
            break;
        }
        std::size_t end = text.find_first_of(" \t\n", start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        out.emplace_back(text.substr(start, end - start));
        pos = end;
    }
    return out;
}

} // namespace

bool release_flag(std::string_view value) {
    std::string v = util::to_lower(util::trim(value));
    if (v == "yes" || v == "true" || v == "with" || v == "on" || v == "enable") {
        return true;
    }
    int number = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
    return ec == std::errc{} && end == v.data() + v.size() && number != 0;
}

util::Result<std::time_t> parse_release_date(std::string_view text) {
    std::string s(util::trim(text));
    struct tm tm {};
    const char* end = ::strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
    if (end == nullptr) {
        end = ::strptime(s.c_str(), "%d %b %Y %H:%M:%S", &tm);
    }
    if (end == nullptr) {
        return util::fail(util::Errc::invalid_input, "not an RFC 2822 date: \"", s, "\"");
    }
    std::string_view zone = util::trim(end);
    long offset = 0;
    if (zone == "UTC" || zone == "GMT" || zone == "Z" || zone.empty()) {
        offset = 0;
    } else if ((zone.front() == '+' || zone.front() == '-') && zone.size() == 5) {
        int hhmm = 0;
        std::from_chars(zone.data() + 1, zone.data() + 5, hhmm);
        offset = (hhmm / 100) * 3600L + (hhmm % 100) * 60L;
        if (zone.front() == '-') {
            offset = -offset;
        }
    } else {
        return util::fail(util::Errc::invalid_input, "unknown time zone in date \"", s, "\"");
    }
    return static_cast<std::time_t>(::timegm(&tm) - offset);
}

std::string format_utc(std::time_t t) {
    struct tm tm {};
    ::gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

util::Result<std::time_t> parse_utc(std::string_view text) {
    std::string s(text);
    struct tm tm {};
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0' || s.size() != 20) {
        return util::fail(util::Errc::invalid_input, "not a UTC time like 2025-05-10T08:49:51Z: \"",
                          s, "\"");
    }
    return static_cast<std::time_t>(::timegm(&tm));
}

util::Result<Release> parse_release(std::string_view text, std::string_view origin) {
    auto paragraphs = UHS_TRY(parse_deb822(text, origin));
    if (paragraphs.empty()) {
        return util::fail(util::Errc::invalid_input, origin, ": empty Release file");
    }
    const Paragraph& p = paragraphs.front();
    Release r;
    r.suite = std::string(p.get_or_empty("Suite"));
    r.codename = std::string(p.get_or_empty("Codename"));
    r.date_text = std::string(p.get_or_empty("Date"));
    if (r.date_text.empty()) {
        return util::fail(util::Errc::invalid_input, origin, ": Date: missing");
    }
    auto date = parse_release_date(r.date_text);
    if (!date) {
        return util::fail(util::Errc::invalid_input, origin, ": Date: ", date.error().message);
    }
    r.date = *date;
    if (auto valid = p.get("Valid-Until")) {
        auto t = parse_release_date(*valid);
        if (!t) {
            return util::fail(util::Errc::invalid_input, origin,
                              ": Valid-Until: ", t.error().message);
        }
        r.valid_until = *t;
    }
    r.architectures = words(p.get_or_empty("Architectures"));
    r.components = words(p.get_or_empty("Components"));
    r.acquire_by_hash = p.get_or_empty("Acquire-By-Hash") == "yes";
    r.not_automatic = release_flag(p.get_or_empty("NotAutomatic"));
    r.but_automatic_upgrades = release_flag(p.get_or_empty("ButAutomaticUpgrades"));
    for (std::string_view line : util::split(p.get_or_empty("SHA256"), '\n')) {
        auto parts = words(line);
        if (parts.empty()) {
            continue;
        }
        std::uint64_t size = 0;
        if (parts.size() != 3 || parts[0].size() != 64 || !util::is_hex(parts[0]) ||
            std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), size).ec !=
                std::errc{}) {
            return util::fail(util::Errc::invalid_input, origin, ": SHA256: malformed line \"",
                              std::string(line), "\"");
        }
        r.sha256[parts[2]] = IndexEntry{util::to_lower(parts[0]), size};
    }
    return r;
}

util::Result<std::string> clearsigned_body(std::string_view text) {
    constexpr std::string_view k_begin = "-----BEGIN PGP SIGNED MESSAGE-----";
    constexpr std::string_view k_sig = "\n-----BEGIN PGP SIGNATURE-----";
    std::size_t begin = text.find(k_begin);
    std::size_t sig = text.find(k_sig);
    if (begin == std::string_view::npos || sig == std::string_view::npos || sig < begin) {
        return util::fail(util::Errc::invalid_input, "not a clearsigned message");
    }
    // Armor headers ("Hash: SHA512") end at the first empty line.
    std::size_t body = text.find("\n\n", begin);
    if (body == std::string_view::npos || body > sig) {
        return util::fail(util::Errc::invalid_input, "clearsigned message without a body");
    }
    std::string_view content = text.substr(body + 2, sig - (body + 2));
    std::string out;
    for (std::string_view line : util::split(content, '\n')) {
        if (util::starts_with(line, "- ")) {
            line.remove_prefix(2);
        }
        out.append(line);
        out.push_back('\n');
    }
    return out;
}

} // namespace uhs::apt
