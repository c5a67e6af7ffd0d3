// SPDX-License-Identifier: Apache-2.0
#include "netboot/dhcp/proxy.hpp"

#include <algorithm>
#include <cstdio>

namespace uhs::netboot::dhcp {

namespace {

constexpr std::uint32_t k_broadcast = 0xffffffff;

bool starts_with(const Bytes& value, std::string_view prefix) {
    return value.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), value.begin(),
                      [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

std::uint32_t be32(const Bytes& v, std::size_t at) {
    return std::uint32_t{v[at]} << 24 | std::uint32_t{v[at + 1]} << 16 |
           std::uint32_t{v[at + 2]} << 8 | std::uint32_t{v[at + 3]};
}

std::uint32_t byteswap32(std::uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

} // namespace

Bytes raspberry_pi_option43() {
    const std::string_view menu = "Raspberry Pi Boot";
    Bytes boot_menu{0x00, 0x00, static_cast<std::uint8_t>(menu.size())};
    boot_menu.insert(boot_menu.end(), menu.begin(), menu.end());
    const std::vector<SubOption> subs{
        {k_pxe_discovery_control, {0x03}},
        {k_pxe_menu_prompt, {0x00, 'P', 'X', 'E'}},
        {k_pxe_boot_menu, boot_menu},
    };
    return encode_suboptions(subs);
}

std::optional<PiIdentity> identify_pi(const Packet& request) {
    const Bytes* vendor = request.find(Option::vendor_class);
    const Bytes* guid = request.find(Option::client_guid);
    if (vendor == nullptr || guid == nullptr || !starts_with(*vendor, "PXEClient:Arch:00000")) {
        return std::nullopt;
    }
    // 00 | FourCC | board revision | MAC low 4 | serial (FACTS-pi-boot §3.1).
    if (guid->size() != 17 || (*guid)[0] != 0) {
        return std::nullopt;
    }
    const std::string four(guid->begin() + 1, guid->begin() + 5);
    PiIdentity id;
    if (four == "RPi4" || four == "RPi5") {
        id.model = four;
    } else if (four == "4iPR" || four == "5iPR") {
        id.model = std::string{four[3], four[2], four[1], four[0]};
    } else {
        return std::nullopt;
    }
    id.serial = be32(*guid, 13);
    id.serial_swapped = byteswap32(id.serial);
    return id;
}

std::string_view to_string(Verdict verdict) {
    switch (verdict) {
    case Verdict::offer:
        return "offer";
    case Verdict::not_discover:
        return "not-discover";
    case Verdict::not_pi:
        return "not-pi";
    case Verdict::unknown_node:
        return "unknown-node";
    case Verdict::tftp_unhealthy:
        return "tftp-unhealthy";
    }
    return "?";
}

Packet make_pi_discover(const std::array<std::uint8_t, 6>& mac, std::uint32_t xid,
                        std::string_view model, std::uint32_t serial, FourCcOrder order,
                        BroadcastFlag broadcast_flag) {
    Packet p;
    p.op = 1;
    p.xid = xid;
    p.flags = broadcast_flag == BroadcastFlag::set ? 0x8000 : 0;
    std::copy(mac.begin(), mac.end(), p.chaddr.begin());
    p.set(Option::message_type, Bytes{static_cast<std::uint8_t>(MessageType::discover)});
    p.set(Option::parameter_list,
          Bytes{1, 3, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135});
    p.set(Option::client_arch, Bytes{0, 0});
    p.set(Option::client_ndi, Bytes{1, 2, 1});
    Bytes guid{0};
    std::string four(model.substr(0, 4));
    if (order == FourCcOrder::reversed) {
        four = std::string(four.rbegin(), four.rend());
    }
    guid.insert(guid.end(), four.begin(), four.end());
    const Bytes revision{0x00, 0xd0, 0x41, 0x80}; // a CM5 revision code; not interpreted here
    guid.insert(guid.end(), revision.begin(), revision.end());
    guid.insert(guid.end(), mac.begin() + 2, mac.end());
    for (int shift = 24; shift >= 0; shift -= 8) {
        guid.push_back(static_cast<std::uint8_t>(serial >> shift));
    }
    p.set(Option::client_guid, guid);
    p.set(Option::vendor_class, k_pi_vendor_class);
    return p;
}

std::string format_mac(const std::array<std::uint8_t, 6>& mac) {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                  mac[3], mac[4], mac[5]);
    return text;
}

bool is_uefi_arm64(const Packet& request) {
    const Bytes* vendor = request.find(Option::vendor_class);
    const Bytes* arch = request.find(Option::client_arch);
    return vendor != nullptr && arch != nullptr &&
           starts_with(*vendor, k_uefi_arm64_vendor_prefix) && arch->size() >= 2 &&
           (std::uint16_t{(*arch)[0]} << 8 | (*arch)[1]) == k_arch_arm64_uefi;
}

namespace {

// The BOOTP header every proxy answer shares: a reply to `request` from the TFTP server, no
// address (yiaddr stays 0), and the PXE server identity (server id, vendor class PXEClient).
Packet proxy_reply(const ProxyConfig& config, const Packet& request, MessageType type);

Bytes ipv4_bytes(std::uint32_t s) {
    return Bytes{static_cast<std::uint8_t>(s >> 24), static_cast<std::uint8_t>(s >> 16),
                 static_cast<std::uint8_t>(s >> 8), static_cast<std::uint8_t>(s)};
}

Packet proxy_reply(const ProxyConfig& config, const Packet& request, MessageType type) {
    Packet reply;
    reply.op = 2;
    reply.htype = request.htype;
    reply.hlen = request.hlen;
    reply.xid = request.xid;
    reply.flags = request.flags;
    reply.chaddr = request.chaddr;
    reply.siaddr = config.tftp_server;
    reply.set(Option::message_type, Bytes{static_cast<std::uint8_t>(type)});
    reply.set(Option::server_id, ipv4_bytes(config.tftp_server));
    reply.set(Option::vendor_class, std::string_view{"PXEClient"});
    return reply;
}

// The OFFER (or, for the boot server port, the ACK) for an arm64 UEFI node.
Decision uefi_answer(const ProxyConfig& config, const Packet& request, TftpHealth health,
                     MessageType type, Decision d) {
    d.uefi = true;
    const auto mac = request.ethernet_address();
    const KnownNode* node = nullptr;
    for (const KnownNode& n : config.nodes) {
        if (n.kind == ClientKind::uefi_arm64 && n.mac && mac && *n.mac == *mac) {
            node = &n;
            break;
        }
    }
    // Unknown UEFI clients are never answered, --allow-unknown or not: there is no boot file
    // to give a machine the cluster file does not name.
    if (node == nullptr || node->boot_file.empty()) {
        d.verdict = Verdict::unknown_node;
        return d;
    }
    d.node = node->name;
    if (health == TftpHealth::unhealthy) {
        d.verdict = Verdict::tftp_unhealthy;
        return d;
    }
    Packet reply = proxy_reply(config, request, type);
    reply.ciaddr = type == MessageType::ack ? request.ciaddr : 0;
    reply.sname = format_ipv4(config.tftp_server);
    reply.file = node->boot_file;
    if (const Bytes* guid = request.find(Option::client_guid)) {
        reply.set(Option::client_guid, *guid);
    }
    d.reply = std::move(reply);
    d.verdict = Verdict::offer;
    d.destination = k_broadcast;
    d.destination_port = 68;
    return d;
}

} // namespace

Decision decide_boot_server(const ProxyConfig& config, const Packet& request, TftpHealth health) {
    Decision d;
    if (const auto mac = request.ethernet_address()) {
        d.client_mac = format_mac(*mac);
    }
    if (request.op != 1 || request.message_type() != MessageType::request) {
        d.verdict = Verdict::not_discover;
        return d;
    }
    if (!is_uefi_arm64(request)) {
        d.verdict = Verdict::not_pi;
        return d;
    }
    d = uefi_answer(config, request, health, MessageType::ack, std::move(d));
    d.destination = 0; // back to the sender
    d.destination_port = 0;
    return d;
}

Decision decide(const ProxyConfig& config, const Packet& request, TftpHealth health) {
    Decision d;
    const auto mac = request.ethernet_address();
    if (mac) {
        d.client_mac = format_mac(*mac);
    }
    if (request.op != 1 || request.message_type() != MessageType::discover) {
        d.verdict = Verdict::not_discover;
        return d;
    }
    if (is_uefi_arm64(request)) {
        return uefi_answer(config, request, health, MessageType::offer, std::move(d));
    }
    d.pi = identify_pi(request);
    if (!d.pi) {
        d.verdict = Verdict::not_pi;
        return d;
    }
    for (const KnownNode& node : config.nodes) {
        if (node.kind != ClientKind::pi) {
            continue;
        }
        const bool by_mac = node.mac && mac && *node.mac == *mac;
        const bool by_serial =
            node.serial && (*node.serial == d.pi->serial || *node.serial == d.pi->serial_swapped);
        if (by_mac || by_serial) {
            d.node = node.name;
            break;
        }
    }
    if (d.node.empty() && config.allow_unknown == AllowUnknown::no) {
        d.verdict = Verdict::unknown_node;
        return d;
    }
    // Answering while our TFTP is down would make the Pi pick us and then fail its boot; with
    // silence it keeps the other boot server's offer or retries later.
    if (health == TftpHealth::unhealthy) {
        d.verdict = Verdict::tftp_unhealthy;
        return d;
    }
    Packet reply = proxy_reply(config, request, MessageType::offer);
    const bool relayed = request.giaddr != 0 &&
                         std::find(config.relays.begin(), config.relays.end(), request.giaddr) !=
                             config.relays.end();
    reply.giaddr = relayed ? request.giaddr : 0;
    const std::uint32_t s = config.tftp_server;
    reply.set(Option::client_guid, *request.find(Option::client_guid));
    reply.set(Option::vendor_specific, raspberry_pi_option43());
    reply.set(Option::tftp_server, format_ipv4(s));
    d.reply = std::move(reply);
    d.verdict = Verdict::offer;
    if (relayed) {
        d.destination = request.giaddr;
        d.destination_port = 67;
    } else {
        d.destination = k_broadcast;
        d.destination_port = 68;
    }
    return d;
}

} // namespace uhs::netboot::dhcp
