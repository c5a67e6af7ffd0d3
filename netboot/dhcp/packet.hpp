// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uhs::netboot::dhcp {

// Option codes this service reads or writes (RFC 2132, RFC 4578, RFC 3396).
enum class Option : std::uint8_t {
    pad = 0,
    subnet_mask = 1,
    router = 3,
    vendor_specific = 43,
    requested_address = 50,
    overload = 52,
    message_type = 53,
    server_id = 54,
    parameter_list = 55,
    vendor_class = 60,
    client_id = 61,
    tftp_server = 66,
    bootfile = 67,
    client_arch = 93,
    client_ndi = 94,
    client_guid = 97,
    end = 255,
};

enum class MessageType : std::uint8_t {
    discover = 1,
    offer = 2,
    request = 3,
    decline = 4,
    ack = 5,
    nak = 6,
    release = 7,
    inform = 8,
};

using Bytes = std::vector<std::uint8_t>;

// A decoded BOOTP/DHCP message. Addresses are in host byte order. Options keep the order of
// their first appearance; repeated instances of one option are concatenated (RFC 3396), and
// options carried in `file`/`sname` through option 52 are merged in (the fields are then empty).
struct Packet {
    std::uint8_t op = 1; // 1 BOOTREQUEST, 2 BOOTREPLY
    std::uint8_t htype = 1;
    std::uint8_t hlen = 6;
    std::uint8_t hops = 0;
    std::uint32_t xid = 0;
    std::uint16_t secs = 0;
    std::uint16_t flags = 0;
    std::uint32_t ciaddr = 0;
    std::uint32_t yiaddr = 0;
    std::uint32_t siaddr = 0;
    std::uint32_t giaddr = 0;
    std::array<std::uint8_t, 16> chaddr{};
    std::string sname; // up to 63 bytes
    std::string file;  // up to 127 bytes
    std::vector<std::pair<std::uint8_t, Bytes>> options;

    // The value of option `code`, if present.
    const Bytes* find(std::uint8_t code) const;
    const Bytes* find(Option code) const { return find(static_cast<std::uint8_t>(code)); }
    // Sets (replacing) or appends option `code`.
    void set(Option code, Bytes value);
    void set(Option code, std::string_view text);
    // Option 53, if present and one byte long.
    std::optional<MessageType> message_type() const;
    // The client hardware address when it is Ethernet (htype 1, hlen 6).
    std::optional<std::array<std::uint8_t, 6>> ethernet_address() const;
};

// The smallest message: the 236-byte fixed header plus the 4-byte magic cookie.
inline constexpr std::size_t k_min_packet_size = 240;
// Replies are padded to the BOOTP minimum of 300 bytes; some firmware drops shorter ones.
inline constexpr std::size_t k_min_reply_size = 300;

// Decodes a datagram. Fails (Errc::invalid_input, with the offset) on a short header, a wrong
// magic cookie, an option running past its field, a missing end, or a bad option 52 value.
util::Result<Packet> decode(std::span<const std::uint8_t> data);

// Encodes `packet`: fixed header, cookie, options in order (values longer than 255 bytes split
// into consecutive instances per RFC 3396), end, padding to k_min_reply_size. Fails when
// `sname`/`file` do not fit their fields.
util::Result<Bytes> encode(const Packet& packet);

// One sub-option of an encapsulated option such as 43 (PXE, RFC 2132 §8.4 / PXE 2.1).
struct SubOption {
    std::uint8_t code = 0;
    Bytes value;
    friend bool operator==(const SubOption&, const SubOption&) = default;
};

// PXE sub-option codes in option 43.
inline constexpr std::uint8_t k_pxe_discovery_control = 6;
inline constexpr std::uint8_t k_pxe_boot_menu = 9;
inline constexpr std::uint8_t k_pxe_menu_prompt = 10;

// Splits an encapsulated option into sub-options (pad 0 skipped, stops at end 255). Fails on a
// sub-option running past the data.
util::Result<std::vector<SubOption>> decode_suboptions(std::span<const std::uint8_t> data);

// Encodes sub-options followed by the end marker 255.
Bytes encode_suboptions(std::span<const SubOption> options);

// Formats an address in host byte order as dotted quad.
std::string format_ipv4(std::uint32_t address);

} // namespace uhs::netboot::dhcp
