// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "netboot/dhcp/packet.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::netboot::dhcp {

// The vendor class the Pi 4/5 EEPROM bootloader sends (FACTS-pi-boot §3.1).
inline constexpr std::string_view k_pi_vendor_class = "PXEClient:Arch:00000:UNDI:002001";

// The 32-byte option 43 dnsmasq emits for `pxe-service=0,"Raspberry Pi Boot"`: discovery
// control 3, menu prompt (timeout 0, "PXE"), boot menu (type 0, "Raspberry Pi Boot"), end.
Bytes raspberry_pi_option43();

// What a DISCOVER's option 97 says about a Raspberry Pi.
struct PiIdentity {
    std::string model;                // "RPi4" or "RPi5", whatever the byte order on the wire
    std::uint32_t serial = 0;         // low 32 bits of the board serial, as the wire order says
    std::uint32_t serial_swapped = 0; // the same four bytes read the other way round
};

// Recognises a Raspberry Pi EEPROM bootloader request: vendor class starting with
// "PXEClient:Arch:00000" and a 17-byte option 97 whose FourCC is RPi4/RPi5 in either byte order.
// Returns nullopt for anything else.
std::optional<PiIdentity> identify_pi(const Packet& request);

// The vendor class prefix and option 93 value of arm64 UEFI PXE clients (RFC 4578 §2.1,
// IANA processor architecture 11: "ARM 64-bit UEFI"); edk2 sends
// "PXEClient:Arch:00011:UNDI:003000".
inline constexpr std::string_view k_uefi_arm64_vendor_prefix = "PXEClient:Arch:00011";
inline constexpr std::uint16_t k_arch_arm64_uefi = 0x000b;
// The PXE boot server port: after a proxy offer without a PXE menu, edk2 asks the proxy for
// the boot file again with a DHCPREQUEST sent here (PXE 2.1 §2.2.1, "BINL").
inline constexpr std::uint16_t k_pxe_boot_server_port = 4011;

// Whether `request` comes from an arm64 UEFI PXE client: option 93 = 0x000b and a vendor
// class starting with k_uefi_arm64_vendor_prefix.
bool is_uefi_arm64(const Packet& request);

enum class ClientKind { pi, uefi_arm64 };

// A node the service boots: matched by Ethernet address or by serial (low 32 bits). A
// uefi_arm64 node is matched by MAC only and is told `boot_file` (a path in the TFTP tree).
struct KnownNode {
    std::string name;
    std::optional<std::array<std::uint8_t, 6>> mac;
    std::optional<std::uint32_t> serial;
    ClientKind kind = ClientKind::pi;
    std::string boot_file;
};

enum class AllowUnknown { no, yes };

struct ProxyConfig {
    std::uint32_t tftp_server = 0; // host byte order; also the server identifier
    std::vector<KnownNode> nodes;
    AllowUnknown allow_unknown = AllowUnknown::no;
    // DHCP relays (their giaddr, host byte order) whose relayed DISCOVERs are answered through
    // them. Any other giaddr is ignored: the reply is a broadcast on the LAN it came from.
    std::vector<std::uint32_t> relays;
};

enum class Verdict {
    offer,          // a proxy OFFER is in the decision
    not_discover,   // not a BOOTREQUEST DISCOVER
    not_pi,         // neither the Pi bootloader's dialect nor an arm64 UEFI PXE client
    unknown_node,   // a Pi we are not configured to boot
    tftp_unhealthy, // we would answer, but our TFTP side is down: stay silent
};

std::string_view to_string(Verdict verdict);

struct Decision {
    Verdict verdict = Verdict::not_discover;
    std::string node;       // the matched node's name ("" when unknown)
    std::string client_mac; // aa:bb:cc:dd:ee:ff, when Ethernet
    std::optional<PiIdentity> pi;
    bool uefi = false; // an arm64 UEFI PXE client
    std::optional<Packet> reply;
    std::uint32_t destination = 0; // host byte order: broadcast, or a configured relay
    std::uint16_t destination_port = 68;
};

enum class TftpHealth { healthy, unhealthy };

// The proxyDHCP decision for one received request, without any I/O: whether to answer and
// with which OFFER. The OFFER carries no address (yiaddr 0), siaddr = option 54 = option 66 =
// the TFTP server, option 60 "PXEClient", option 43 as dnsmasq encodes it, option 97 echoed.
//
// For an arm64 UEFI client (a uefi_arm64 node, by MAC; never an unknown one) the OFFER is
// what dnsmasq sends for a single `pxe-service=ARM64_EFI,...,FILE,SERVER`: option 60
// "PXEClient", siaddr = option 54 = the TFTP server, sname = its dotted quad, file = the
// node's boot file, no option 43 (edk2 would start a boot server discovery on a menu).
Decision decide(const ProxyConfig& config, const Packet& request, TftpHealth health);

// The answer to a DHCPREQUEST a UEFI client sent to the PXE boot server port
// (k_pxe_boot_server_port) after our OFFER: a DHCPACK carrying the same boot information,
// sent back to where the request came from (the caller does that; `destination` is 0).
Decision decide_boot_server(const ProxyConfig& config, const Packet& request, TftpHealth health);

enum class FourCcOrder { ascii, reversed }; // "RPi4" (CM4 logs) or "5iPR" (CM5 logs)

// The DISCOVER the Pi EEPROM bootloader sends (FACTS-pi-boot §3.1): option 55 with its 14
// entries, 93 = 0, 94 = 01 02 01, 97 = 00|FourCC|revision|MAC low 4|serial, 60 = the vendor
// class. `broadcast_flag` sets flags bit 15 (the real bootloader leaves it clear). Used by the
// bootloader simulator, the tests and the bench.
enum class BroadcastFlag { clear, set };
Packet make_pi_discover(const std::array<std::uint8_t, 6>& mac, std::uint32_t xid,
                        std::string_view model, std::uint32_t serial, FourCcOrder order,
                        BroadcastFlag broadcast_flag);

// aa:bb:cc:dd:ee:ff.
std::string format_mac(const std::array<std::uint8_t, 6>& mac);

} // namespace uhs::netboot::dhcp
