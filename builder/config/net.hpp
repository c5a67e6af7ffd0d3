// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uhs::config {

struct Ipv4 {
    std::uint32_t value = 0; // host byte order

    static std::optional<Ipv4> parse(std::string_view text);
    std::string to_string() const;
    friend bool operator==(Ipv4, Ipv4) = default;
    friend auto operator<=>(Ipv4, Ipv4) = default;
};

struct Ipv4Prefix {
    Ipv4 network;
    int length = 0;

    // "a.b.c.d/n". Rejects host bits set after the prefix (192.168.1.5/24), which is always a typo.
    static std::optional<Ipv4Prefix> parse(std::string_view text);
    std::string to_string() const;
    std::uint32_t mask() const { return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length); }
    bool contains(Ipv4 address) const { return (address.value & mask()) == network.value; }
    bool overlaps(const Ipv4Prefix& other) const;
    Ipv4 broadcast() const { return Ipv4{network.value | ~mask()}; }
};

struct MacAddress {
    std::array<std::uint8_t, 6> bytes{};

    // Accepts aa:bb:cc:dd:ee:ff and aa-bb-cc-dd-ee-ff, any case.
    static std::optional<MacAddress> parse(std::string_view text);
    std::string with_colons() const; // "2c:cf:67:00:00:01"
    std::string with_dashes() const; // "2c-cf-67-00-00-01", the bootloader's TFTP_PREFIX=2 form
    friend bool operator==(const MacAddress&, const MacAddress&) = default;
    friend auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

// The bootloader's TFTP_PREFIX=0 directory: the low 32 bits of the board serial as %08x.
// `serial` is 8 or 16 hex digits (validated by the loader).
std::string serial_prefix(std::string_view serial);

} // namespace uhs::config
