// SPDX-License-Identifier: Apache-2.0
#include "netboot/dhcp/packet.hpp"

#include <algorithm>

namespace uhs::netboot::dhcp {

namespace {

constexpr std::uint32_t k_magic_cookie = 0x63825363;
constexpr std::size_t k_sname_offset = 44;
constexpr std::size_t k_sname_size = 64;
constexpr std::size_t k_file_offset = 108;
constexpr std::size_t k_file_size = 128;
constexpr std::size_t k_cookie_offset = 236;

std::uint32_t get32(std::span<const std::uint8_t> d, std::size_t at) {
    return std::uint32_t{d[at]} << 24 | std::uint32_t{d[at + 1]} << 16 |
           std::uint32_t{d[at + 2]} << 8 | std::uint32_t{d[at + 3]};
}

std::uint16_t get16(std::span<const std::uint8_t> d, std::size_t at) {
    return static_cast<std::uint16_t>(d[at] << 8 | d[at + 1]);
}

void put32(Bytes& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// A NUL-terminated (or full) text field.
std::string field_text(std::span<const std::uint8_t> field) {
    const auto end = std::find(field.begin(), field.end(), std::uint8_t{0});
    return std::string(field.begin(), end);
}

// Appends the options found in `area` to `packet` (concatenating repeats). `where` names the
// area in errors. Sets `overload` when option 52 is seen. The end option is required only in
// the main options area; a field used for overload may simply be filled with pad.
util::Status parse_options(std::span<const std::uint8_t> area, std::size_t base,
                           std::string_view where, Packet& packet,
                           std::optional<std::uint8_t>& overload, bool require_end) {
    std::size_t i = 0;
    while (i < area.size()) {
        const std::uint8_t code = area[i];
        if (code == static_cast<std::uint8_t>(Option::pad)) {
            ++i;
            continue;
        }
        if (code == static_cast<std::uint8_t>(Option::end)) {
            return {};
        }
        if (i + 1 >= area.size()) {
            return util::fail(util::Errc::invalid_input, "option ", std::to_string(code), " in ",
                              where, " at offset ", std::to_string(base + i),
                              ": length byte missing");
        }
        const std::size_t length = area[i + 1];
        if (i + 2 + length > area.size()) {
            return util::fail(util::Errc::invalid_input, "option ", std::to_string(code), " in ",
                              where, " at offset ", std::to_string(base + i), ": length ",
                              std::to_string(length), " runs past the end");
        }
        const auto value = area.subspan(i + 2, length);
        if (code == static_cast<std::uint8_t>(Option::overload)) {
            if (length != 1 || value[0] < 1 || value[0] > 3) {
                return util::fail(util::Errc::invalid_input, "option 52 at offset ",
                                  std::to_string(base + i), ": invalid overload value");
            }
            overload = value[0];
        } else {
            auto it = std::find_if(packet.options.begin(), packet.options.end(),
                                   [&](const auto& o) { return o.first == code; });
            if (it == packet.options.end()) {
                packet.options.emplace_back(code, Bytes(value.begin(), value.end()));
            } else {
                it->second.insert(it->second.end(), value.begin(), value.end());
            }
        }
        i += 2 + length;
    }
    if (require_end) {
        return util::fail(util::Errc::invalid_input, "no end option in ", where);
    }
    return {};
}

} // namespace

const Bytes* Packet::find(std::uint8_t code) const {
    for (const auto& [c, value] : options) {
        if (c == code) {
            return &value;
        }
    }
    return nullptr;
}

void Packet::set(Option code, Bytes value) {
    const auto c = static_cast<std::uint8_t>(code);
    for (auto& [existing, v] : options) {
        if (existing == c) {
            v = std::move(value);
            return;
        }
    }
    options.emplace_back(c, std::move(value));
}

void Packet::set(Option code, std::string_view text) {
    set(code, Bytes(text.begin(), text.end()));
}

std::optional<MessageType> Packet::message_type() const {
    const Bytes* v = find(Option::message_type);
    if (v == nullptr || v->size() != 1 || (*v)[0] < 1 || (*v)[0] > 8) {
        return std::nullopt;
    }
    return static_cast<MessageType>((*v)[0]);
}

std::optional<std::array<std::uint8_t, 6>> Packet::ethernet_address() const {
    if (htype != 1 || hlen != 6) {
        return std::nullopt;
    }
    std::array<std::uint8_t, 6> mac{};
    std::copy_n(chaddr.begin(), 6, mac.begin());
    return mac;
}

util::Result<Packet> decode(std::span<const std::uint8_t> data) {
    if (data.size() < k_min_packet_size) {
        return util::fail(util::Errc::invalid_input, "packet of ", std::to_string(data.size()),
                          " bytes is shorter than the 240-byte DHCP header");
    }
    if (get32(data, k_cookie_offset) != k_magic_cookie) {
        return util::fail(util::Errc::invalid_input, "bad magic cookie at offset 236");
    }
    Packet p;
    p.op = data[0];
    p.htype = data[1];
    p.hlen = data[2];
    p.hops = data[3];
    p.xid = get32(data, 4);
    p.secs = get16(data, 8);
    p.flags = get16(data, 10);
    p.ciaddr = get32(data, 12);
    p.yiaddr = get32(data, 16);
    p.siaddr = get32(data, 20);
    p.giaddr = get32(data, 24);
    std::copy_n(data.begin() + 28, 16, p.chaddr.begin());
    if (p.hlen > 16) {
        return util::fail(util::Errc::invalid_input, "hardware address length ",
                          std::to_string(p.hlen), " exceeds 16");
    }
    std::optional<std::uint8_t> overload;
    UHS_CHECK(parse_options(data.subspan(240), 240, "options", p, overload, true));
    const auto file = data.subspan(k_file_offset, k_file_size);
    const auto sname = data.subspan(k_sname_offset, k_sname_size);
    // RFC 2131 §4.1: the file field is read before sname when both carry options.
    if (overload && (*overload & 1)) {
        std::optional<std::uint8_t> ignored;
        UHS_CHECK(parse_options(file, k_file_offset, "file field", p, ignored, false));
    } else {
        p.file = field_text(file);
    }
    if (overload && (*overload & 2)) {
        std::optional<std::uint8_t> ignored;
        UHS_CHECK(parse_options(sname, k_sname_offset, "sname field", p, ignored, false));
    } else {
        p.sname = field_text(sname);
    }
    return p;
}

util::Result<Bytes> encode(const Packet& packet) {
    if (packet.sname.size() >= k_sname_size) {
        return util::fail(util::Errc::invalid_input, "sname of ",
                          std::to_string(packet.sname.size()),
                          " bytes does not fit the 64-byte field");
    }
    if (packet.file.size() >= k_file_size) {
        return util::fail(util::Errc::invalid_input, "file of ", std::to_string(packet.file.size()),
                          " bytes does not fit the 128-byte field");
    }
    Bytes out;
    out.reserve(k_min_reply_size);
    out.push_back(packet.op);
    out.push_back(packet.htype);
    out.push_back(packet.hlen);
    out.push_back(packet.hops);
    put32(out, packet.xid);
    put16(out, packet.secs);
    put16(out, packet.flags);
    put32(out, packet.ciaddr);
    put32(out, packet.yiaddr);
    put32(out, packet.siaddr);
    put32(out, packet.giaddr);
    out.insert(out.end(), packet.chaddr.begin(), packet.chaddr.end());
    out.insert(out.end(), packet.sname.begin(), packet.sname.end());
    out.resize(k_file_offset, 0);
    out.insert(out.end(), packet.file.begin(), packet.file.end());
    out.resize(k_cookie_offset, 0);
    put32(out, k_magic_cookie);
    for (const auto& [code, value] : packet.options) {
        if (code == static_cast<std::uint8_t>(Option::pad) ||
            code == static_cast<std::uint8_t>(Option::end)) {
            continue;
        }
        std::size_t at = 0;
        do {
            const std::size_t chunk = std::min<std::size_t>(255, value.size() - at);
            out.push_back(code);
            out.push_back(static_cast<std::uint8_t>(chunk));
            out.insert(out.end(), value.begin() + static_cast<std::ptrdiff_t>(at),
                       value.begin() + static_cast<std::ptrdiff_t>(at + chunk));
            at += chunk;
        } while (at < value.size());
    }
    out.push_back(static_cast<std::uint8_t>(Option::end));
    if (out.size() < k_min_reply_size) {
        out.resize(k_min_reply_size, 0);
    }
    return out;
}

util::Result<std::vector<SubOption>> decode_suboptions(std::span<const std::uint8_t> data) {
    std::vector<SubOption> result;
    std::size_t i = 0;
    while (i < data.size()) {
        const std::uint8_t code = data[i];
        if (code == 0) {
            ++i;
            continue;
        }
        if (code == 255) {
            break;
        }
        if (i + 1 >= data.size() || i + 2 + data[i + 1] > data.size()) {
            return util::fail(util::Errc::invalid_input, "sub-option ", std::to_string(code),
                              " at offset ", std::to_string(i), " runs past the end");
        }
        const std::size_t length = data[i + 1];
        result.push_back(
            SubOption{code, Bytes(data.begin() + static_cast<std::ptrdiff_t>(i + 2),
                                  data.begin() + static_cast<std::ptrdiff_t>(i + 2 + length))});
        i += 2 + length;
    }
    return result;
}

Bytes encode_suboptions(std::span<const SubOption> options) {
    Bytes out;
    for (const SubOption& o : options) {
        out.push_back(o.code);
        out.push_back(static_cast<std::uint8_t>(o.value.size()));
        out.insert(out.end(), o.value.begin(), o.value.end());
    }
    out.push_back(255);
    return out;
}

std::string format_ipv4(std::uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
           std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

} // namespace uhs::netboot::dhcp
