// SPDX-License-Identifier: Apache-2.0
#include "builder/config/net.hpp"

#include "builder/util/strings.hpp"

#include <charconv>
#include <cstdio>

namespace uhs::config {

namespace {

std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
    // No leading zeros ("010" is octal to inet_aton and a trap for readers), no signs.
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > max) {
        return std::nullopt;
    }
    return value;
}

} // namespace

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
    const auto parts = util::split(text, '.');
    if (parts.size() != 4) {
        return std::nullopt;
    }
    std::uint32_t value = 0;
    for (std::string_view part : parts) {
        const auto octet = parse_decimal(part, 255);
        if (!octet) {
            return std::nullopt;
        }
        value = (value << 8) | *octet;
    }
    return Ipv4{value};
}

std::string Ipv4::to_string() const {
    char text[16];
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff,
                  (value >> 8) & 0xff, value & 0xff);
    return text;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    const auto address = Ipv4::parse(text.substr(0, slash));
    const auto length = parse_decimal(text.substr(slash + 1), 32);
    if (!address || !length) {
        return std::nullopt;
    }
    Ipv4Prefix prefix{*address, static_cast<int>(*length)};
    if ((address->value & prefix.mask()) != address->value) {
        return std::nullopt;
    }
    return prefix;
}

std::string Ipv4Prefix::to_string() const {
    return network.to_string() + "/" + std::to_string(length);
}

bool Ipv4Prefix::overlaps(const Ipv4Prefix& other) const {
    return contains(other.network) || other.contains(network);
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    if (text.size() != 17) {
        return std::nullopt;
    }
    const char separator = text[2];
    if (separator != ':' && separator != '-') {
        return std::nullopt;
    }
    MacAddress mac;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::string_view octet = text.substr(i * 3, 2);
        if (i < 5 && text[i * 3 + 2] != separator) {
            return std::nullopt;
        }
        if (!util::is_hex(octet)) {
            return std::nullopt;
        }
        unsigned value = 0;
        std::from_chars(octet.data(), octet.data() + 2, value, 16);
        mac.bytes[i] = static_cast<std::uint8_t>(value);
    }
    return mac;
}

static std::string format_mac(const MacAddress& mac, char separator) {
    char text[18];
    std::snprintf(text, sizeof text, "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", mac.bytes[0], separator,
                  mac.bytes[1], separator, mac.bytes[2], separator, mac.bytes[3], separator,
                  mac.bytes[4], separator, mac.bytes[5]);
    return text;
}

std::string MacAddress::with_colons() const {
    return format_mac(*this, ':');
}
std::string MacAddress::with_dashes() const {
    return format_mac(*this, '-');
}

std::string serial_prefix(std::string_view serial) {
    return util::to_lower(serial.substr(serial.size() >= 8 ? serial.size() - 8 : 0));
}

} // namespace uhs::config
