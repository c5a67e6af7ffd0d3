// SPDX-License-Identifier: Apache-2.0
#include "firmware/eeprom/bootconf.hpp"

#include "builder/util/strings.hpp"
#include "firmware/eeprom/image.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace uhs::eeprom {

using util::Errc;
using util::fail;

namespace {

std::optional<unsigned long> parse_number(const std::string& text) {
    unsigned long value = 0;
    const bool hex = text.starts_with("0x") || text.starts_with("0X");
    const char* begin = text.data() + (hex ? 2 : 0);
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value, hex ? 16 : 10);
    if (ec != std::errc() || ptr != end || begin == end) {
        return std::nullopt;
    }
    return value;
}

bool is_dotted_quad(const std::string& text) {
    const auto parts = util::split(text, '.');
    if (parts.size() != 4) {
        return false;
    }
    for (std::string_view p : parts) {
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v > 255) {
            return false;
        }
    }
    return true;
}

} // namespace

util::Status check_setting(const std::string& key, const std::string& value, int soc) {
    auto bad = [&](const std::string& why) {
        return fail(Errc::invalid_input, key, "=", value, ": ", why);
    };
    if (key == "BOOT_ORDER") {
        const auto order = parse_number(value);
        if (!order || !(value.starts_with("0x") || value.starts_with("0X")) || *order == 0 ||
            *order > 0xFFFFFFFFul) {
            return bad("expected hex nibbles like 0xf21");
        }
        for (unsigned long v = *order; v != 0; v >>= 4) {
            const unsigned long mode = v & 0xf;
            if ((mode > 7 && mode != 0xe && mode != 0xf) || (mode == 5 && soc == 2712)) {
                char nibble[4];
                std::snprintf(nibble, sizeof nibble, "%lx", mode);
                return bad(std::string("boot mode 0x") + nibble + " does not exist" +
                           (mode == 5 ? " on BCM2712" : ""));
            }
        }
        return {};
    }
    if (key == "TFTP_PREFIX") {
        if (value != "0" && value != "1" && value != "2") {
            return bad("expected 0 (serial), 1 (TFTP_PREFIX_STR) or 2 (MAC)");
        }
        return {};
    }
    if (key == "TFTP_PREFIX_STR") {
        return value.size() <= 32 ? util::Status{} : bad("at most 32 characters");
    }
    struct Minimum {
        const char* key;
        unsigned long min;
    };
    for (const Minimum m : {Minimum{"DHCP_TIMEOUT", 5000}, Minimum{"DHCP_REQ_TIMEOUT", 500},
                            Minimum{"TFTP_FILE_TIMEOUT", 5000}}) {
        if (key == m.key) {
            const auto ms = parse_number(value);
            if (!ms || *ms < m.min) {
                return bad("expected milliseconds, at least " + std::to_string(m.min));
            }
            return {};
        }
    }
    for (const char* address : {"TFTP_IP", "CLIENT_IP", "SUBNET", "GATEWAY", "DNS_IP"}) {
        if (key == address && !is_dotted_quad(value)) {
            return bad("expected a dotted IPv4 address");
        }
    }
    if (key == "HTTP_PORT") {
        const auto port = parse_number(value);
        return port && *port >= 1 && *port <= 65535 ? util::Status{} : bad("expected 1-65535");
    }
    if (key == "HTTP_HOST") {
        const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        });
        return ok ? util::Status{}
                  : bad("expected a host name: lowercase letters, digits, '-' and '.', no "
                        "scheme or path");
    }
    if (key == "MAC_ADDRESS") {
        const auto parts = util::split(value, ':');
        const bool ok = parts.size() == 6 && std::all_of(parts.begin(), parts.end(), [](auto p) {
                            return p.size() == 2 && util::is_hex(p);
                        });
        return ok ? util::Status{} : bad("expected a colon-separated MAC like dc:a6:32:01:36:c2");
    }
    if (key == "NETCONSOLE" && value.size() > 32) {
        return bad("at most 32 characters");
    }
    return {};
}

std::optional<std::string> BootConfig::value(std::string_view key) const {
    std::optional<std::string> found;
    for (const BootConfLine& line : lines) {
        if (line.kind == BootConfLine::Kind::setting && line.unconditional && line.key == key) {
            found = line.value;
        }
    }
    return found;
}

std::string BootConfig::render() const {
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += lines[i].text;
        if (i + 1 < lines.size() || trailing_newline) {
            out += '\n';
        }
    }
    return out;
}

BootConfig parse_bootconf(std::string_view text) {
    BootConfig config;
    config.trailing_newline = text.empty() || text.back() == '\n';
    auto raw = util::split(text, '\n');
    if (!text.empty() && text.back() == '\n') {
        raw.pop_back(); // split's empty tail after the last LF
    }
    if (text.empty()) {
        raw.clear();
    }
    bool unconditional = true;
    bool in_config_txt = false;
    int number = 0;
    for (std::string_view r : raw) {
        BootConfLine line;
        line.number = ++number;
        line.text = std::string(r);
        const std::string_view t = util::trim(r);
        if (t.empty()) {
            line.kind = BootConfLine::Kind::blank;
        } else if (t.starts_with('#')) {
            line.kind = BootConfLine::Kind::comment;
        } else if (t.starts_with('[') && t.ends_with(']')) {
            line.kind = BootConfLine::Kind::section;
            line.key = std::string(t.substr(1, t.size() - 2));
            unconditional = line.key == "all";
            in_config_txt = line.key == "config.txt";
        } else if (const auto eq = t.find('='); eq != std::string_view::npos && eq > 0) {
            line.kind = BootConfLine::Kind::setting;
            line.key = std::string(util::trim(t.substr(0, eq)));
            line.value = std::string(util::trim(t.substr(eq + 1)));
        } else {
            line.kind = BootConfLine::Kind::other;
        }
        line.unconditional = unconditional && !in_config_txt;
        if (in_config_txt && line.kind == BootConfLine::Kind::setting) {
            line.kind = BootConfLine::Kind::other; // a config.txt option, not a bootloader key
        }
        config.lines.push_back(std::move(line));
    }
    return config;
}

namespace {

struct SocNote {
    const char* key;
    int soc; // the SoC on which the key does nothing
    const char* why;
};
constexpr SocNote k_soc_notes[] = {
    {"WAKE_ON_GPIO", 2712, "Pi 4 only"},
    {"USB_MSD_PWR_OFF_TIME", 2712, "Pi 4 only"},
    {"VL805", 2712, "the CM4's USB controller; BCM2712 has none"},
    {"USE_IPV6", 2712, "IPv6 netboot is documented for Pi 4/CM4 only"},
    {"HTTP_CACERT_HASH", 2711, "BCM2712 only"},
    {"UART_BAUD", 2711, "BCM2712 only; BCM2711 logs at 115200"},
    {"REBOOT_ON_FATAL_ERROR", 2711, "BCM2712 only"},
    {"PSU_MAX_CURRENT", 2711, "a Pi 5 setting"},
};

} // namespace

std::vector<Finding> check_bootconf(const BootConfig& config, int soc) {
    std::vector<Finding> findings;
    auto add = [&](Severity severity, const BootConfLine& line, const std::string& message) {
        findings.push_back(
            {severity, line.number, "line " + std::to_string(line.number) + ": " + message});
    };
    std::size_t size = 0;
    for (const BootConfLine& line : config.lines) {
        size += line.text.size() + 1;
        if (line.kind == BootConfLine::Kind::other && line.unconditional) {
            add(Severity::warning, line,
                "'" + line.text + "' is not KEY=VALUE; the bootloader ignores it");
        }
        if (line.kind != BootConfLine::Kind::setting) {
            continue;
        }
        if (auto checked = check_setting(line.key, line.value, soc); !checked) {
            add(Severity::error, line, checked.error().message);
        }
        for (const SocNote& note : k_soc_notes) {
            if (line.key == note.key && soc == note.soc) {
                add(Severity::warning, line,
                    line.key + " does nothing on BCM" + std::to_string(soc) + " (" + note.why +
                        ")");
            }
        }
    }
    for (const BootConfLine& line : config.lines) {
        if (line.kind != BootConfLine::Kind::setting || !line.unconditional) {
            continue;
        }
        if (line.key == "TFTP_PREFIX_STR" && config.value("TFTP_PREFIX") != "1") {
            add(Severity::warning, line, "TFTP_PREFIX_STR is used only with TFTP_PREFIX=1");
        }
        if (line.key == "HTTP_PATH" && !config.value("HTTP_HOST")) {
            add(Severity::warning, line, "HTTP_PATH is ignored unless HTTP_HOST is set");
        }
        if (line.key == "CLIENT_IP" && !config.value("TFTP_IP")) {
            add(Severity::warning, line, "a static CLIENT_IP needs TFTP_IP too, or DHCP is used");
        }
    }
    if (!config.trailing_newline && size > 0) {
        --size;
    }
    if (size > k_max_file_size) {
        findings.push_back({Severity::error, 0,
                            "bootconf.txt is too large: " + std::to_string(size) +
                                " bytes (at most " + std::to_string(k_max_file_size) + ")"});
    }
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return a.line < b.line; });
    return findings;
}

util::Result<std::string>
set_settings(const std::string& config,
             const std::vector<std::pair<std::string, std::string>>& settings, int soc) {
    std::vector<std::string> lines;
    for (std::string_view line : util::split(config, '\n')) {
        lines.emplace_back(line);
    }
    const bool trailing_newline = !config.empty() && config.back() == '\n';
    if (trailing_newline) {
        lines.pop_back(); // split's empty tail after the last LF
    }
    for (const auto& [key, value] : settings) {
        UHS_CHECK(check_setting(key, value, soc));
        bool unconditional = true;
        bool done = false;
        for (std::string& line : lines) {
            const std::string_view t = util::trim(line);
            if (t.starts_with('[')) {
                unconditional = t == "[all]";
                continue;
            }
            if (unconditional && t.starts_with(key + "=")) {
                line = key + "=" + value;
                done = true;
                break;
            }
        }
        if (!done) {
            if (!unconditional) {
                lines.emplace_back("[all]");
            }
            lines.push_back(key + "=" + value);
        }
    }
    std::string out;
    for (const std::string& line : lines) {
        out += line + "\n";
    }
    if (!trailing_newline && !config.empty() && settings.empty()) {
        out.pop_back();
    }
    return out;
}

} // namespace uhs::eeprom
