// SPDX-License-Identifier: Apache-2.0
#include "firmware/eeprom/bootconf.hpp"

#include "builder/util/strings.hpp"

#include <charconv>

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
    return {};
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
