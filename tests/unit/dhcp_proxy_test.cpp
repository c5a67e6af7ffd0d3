// SPDX-License-Identifier: Apache-2.0
#include "netboot/dhcp/proxy.hpp"

#include <catch2/catch.hpp>

using namespace uhs::netboot::dhcp;

namespace {

constexpr std::array<std::uint8_t, 6> k_mac{0x2c, 0xcf, 0x67, 0x00, 0x00, 0x01};
constexpr std::uint32_t k_tftp = 0x0a010002; // 10.1.0.2

ProxyConfig config() {
    ProxyConfig c;
    c.tftp_server = k_tftp;
    c.nodes.push_back(KnownNode{"n1", k_mac, std::nullopt, ClientKind::pi, ""});
    c.nodes.push_back(KnownNode{"n2", std::nullopt, 0xa1b2c3d4, ClientKind::pi, ""});
    return c;
}

Packet discover(FourCcOrder order = FourCcOrder::ascii, std::string_view model = "RPi5") {
    return make_pi_discover(k_mac, 0x11223344, model, 0x01020304, order, BroadcastFlag::clear);
}

} // namespace

TEST_CASE("option 43 is dnsmasq's exact encoding") {
    const Bytes expected{0x06, 0x01, 0x03, 0x0a, 0x04, 0x00, 'P', 'X', 'E', 0x09, 0x14,
                         0x00, 0x00, 0x11, 'R',  'a',  's',  'p', 'b', 'e', 'r',  'r',
                         'y',  ' ',  'P',  'i',  ' ',  'B',  'o', 'o', 't', 0xff};
    CHECK(raspberry_pi_option43() == expected);
    CHECK(raspberry_pi_option43().size() == 32);
}

TEST_CASE("the Pi is recognised by option 97 in either byte order") {
    auto a = identify_pi(discover(FourCcOrder::ascii, "RPi4"));
    REQUIRE(a);
    CHECK(a->model == "RPi4");
    CHECK(a->serial == 0x01020304);
    CHECK(a->serial_swapped == 0x04030201);
    auto r = identify_pi(discover(FourCcOrder::reversed, "RPi5"));
    REQUIRE(r);
    CHECK(r->model == "RPi5");
    // The simulator's DISCOVER carries the bootloader's vendor class and 14-entry option 55.
    const Packet d = discover();
    CHECK(d.find(Option::vendor_class)->size() == k_pi_vendor_class.size());
    CHECK(d.find(Option::parameter_list)->size() == 14);
    CHECK(*d.find(Option::client_arch) == Bytes{0, 0});

    Packet x86 = discover();
    x86.set(Option::client_guid, Bytes(17, 0));
    CHECK_FALSE(identify_pi(x86));
    Packet uefi = discover();
    uefi.set(Option::vendor_class, std::string_view{"PXEClient:Arch:00011:UNDI:003000"});
    CHECK_FALSE(identify_pi(uefi));
    Packet short_guid = discover();
    short_guid.set(Option::client_guid, Bytes{0, 'R', 'P', 'i', '5'});
    CHECK_FALSE(identify_pi(short_guid));
}

TEST_CASE("proxy offers a known Pi exactly what the bootloader needs") {
    for (auto order : {FourCcOrder::ascii, FourCcOrder::reversed}) {
        const Packet request = discover(order);
        const Decision d = decide(config(), request, TftpHealth::healthy);
        REQUIRE(d.verdict == Verdict::offer);
        CHECK(d.node == "n1");
        CHECK(d.client_mac == "2c:cf:67:00:00:01");
        REQUIRE(d.reply);
        const Packet& r = *d.reply;
        CHECK(r.op == 2);
        CHECK(r.xid == request.xid);
        CHECK(r.chaddr == request.chaddr);
        CHECK(r.yiaddr == 0); // never hands out an address
        CHECK(r.ciaddr == 0);
        CHECK(r.siaddr == k_tftp);
        CHECK(r.message_type() == MessageType::offer);
        CHECK(*r.find(Option::server_id) == Bytes{10, 1, 0, 2});
        CHECK(*r.find(Option::tftp_server) == Bytes{'1', '0', '.', '1', '.', '0', '.', '2'});
        CHECK(*r.find(Option::vendor_class) == Bytes{'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't'});
        CHECK(*r.find(Option::client_guid) == *request.find(Option::client_guid));
        CHECK(*r.find(Option::vendor_specific) == raspberry_pi_option43());
        CHECK(r.find(Option::subnet_mask) == nullptr);
        CHECK(r.find(Option::router) == nullptr);
        CHECK(d.destination == 0xffffffff);
        CHECK(d.destination_port == 68);
        // And it survives the wire.
        auto wire = encode(r);
        REQUIRE(wire);
        auto back = decode(*wire);
        REQUIRE(back);
        CHECK(back->options == r.options);
    }
}

TEST_CASE("proxy matches by serial in either order") {
    auto c = config();
    c.nodes[0].mac.reset();
    c.nodes[1].serial = 0x04030201;
    const Decision d = decide(c, discover(), TftpHealth::healthy);
    CHECK(d.verdict == Verdict::offer);
    CHECK(d.node == "n2");
}

TEST_CASE("proxy stays silent when it must") {
    SECTION("unknown node") {
        auto c = config();
        c.nodes.erase(c.nodes.begin());
        const Decision d = decide(c, discover(), TftpHealth::healthy);
        CHECK(d.verdict == Verdict::unknown_node);
        CHECK_FALSE(d.reply);
        c.allow_unknown = AllowUnknown::yes;
        CHECK(decide(c, discover(), TftpHealth::healthy).verdict == Verdict::offer);
    }
    SECTION("tftp unhealthy") {
        const Decision d = decide(config(), discover(), TftpHealth::unhealthy);
        CHECK(d.verdict == Verdict::tftp_unhealthy);
        CHECK_FALSE(d.reply);
    }
    SECTION("not a Pi") {
        Packet p = discover();
        p.set(Option::vendor_class, std::string_view{"udhcp 1.36.1"});
        CHECK(decide(config(), p, TftpHealth::healthy).verdict == Verdict::not_pi);
    }
    SECTION("not a discover") {
        Packet p = discover();
        p.set(Option::message_type, Bytes{3});
        CHECK(decide(config(), p, TftpHealth::healthy).verdict == Verdict::not_discover);
        Packet reply = discover();
        reply.op = 2;
        CHECK(decide(config(), reply, TftpHealth::healthy).verdict == Verdict::not_discover);
    }
}

TEST_CASE("proxy answers a relayed discover to the relay") {
    Packet p = discover();
    p.giaddr = 0x0a020001;
    ProxyConfig c = config();
    c.relays.push_back(0x0a020001);
    const Decision d = decide(c, p, TftpHealth::healthy);
    REQUIRE(d.verdict == Verdict::offer);
    CHECK(d.destination == 0x0a020001);
    CHECK(d.destination_port == 67);
    CHECK(d.reply->giaddr == 0x0a020001);
}

TEST_CASE("a giaddr from a relay that is not configured redirects nothing") {
    // Anyone on the LAN can put any giaddr into a DISCOVER: unicasting our offer there would
    // make the proxy a reflector. Without configured relays the reply stays a LAN broadcast.
    Packet p = discover();
    p.giaddr = 0xc0a80101;
    const Decision d = decide(config(), p, TftpHealth::healthy);
    REQUIRE(d.verdict == Verdict::offer);
    CHECK(d.destination == 0xffffffff);
    CHECK(d.destination_port == 68);
    CHECK(d.reply->giaddr == 0);
    ProxyConfig other = config();
    other.relays.push_back(0x0a020001);
    const Decision d2 = decide(other, p, TftpHealth::healthy);
    CHECK(d2.destination == 0xffffffff);
}

namespace {

constexpr std::array<std::uint8_t, 6> k_uefi_mac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// What edk2's PXE driver (NetworkPkg/UefiPxeBcDxe) sends on arm64: option 93 = 11,
// 94 = UNDI 3.0, 97 = a 17-byte GUID, 60 = PXEClient:Arch:00011:UNDI:003000.
Packet uefi_packet(MessageType type, const std::array<std::uint8_t, 6>& mac = k_uefi_mac) {
    Packet p;
    p.op = 1;
    p.xid = 0x5a5a0001;
    std::copy(mac.begin(), mac.end(), p.chaddr.begin());
    p.set(Option::message_type, Bytes{static_cast<std::uint8_t>(type)});
    p.set(Option::parameter_list, Bytes{1, 3, 6, 43, 54, 60, 66, 67, 97});
    p.set(Option::client_arch, Bytes{0x00, 0x0b});
    p.set(Option::client_ndi, Bytes{1, 3, 0});
    Bytes guid(17, 0x11);
    guid[0] = 0;
    p.set(Option::client_guid, guid);
    p.set(Option::vendor_class, std::string_view{"PXEClient:Arch:00011:UNDI:003000"});
    return p;
}

ProxyConfig uefi_config() {
    ProxyConfig c = config();
    c.nodes.push_back(KnownNode{"u1", k_uefi_mac, std::nullopt, ClientKind::uefi_arm64,
                                "52-54-00-12-34-56/bootaa64.efi"});
    return c;
}

} // namespace

TEST_CASE("arm64 UEFI clients of uefi-arm64 nodes get dnsmasq's ARM64_EFI proxy offer") {
    const Packet request = uefi_packet(MessageType::discover);
    CHECK(is_uefi_arm64(request));
    CHECK_FALSE(is_uefi_arm64(discover())); // the Pi's arch 0 is not UEFI
    const Decision d = decide(uefi_config(), request, TftpHealth::healthy);
    REQUIRE(d.verdict == Verdict::offer);
    CHECK(d.node == "u1");
    CHECK(d.uefi);
    const Packet& r = *d.reply;
    CHECK(r.op == 2);
    CHECK(r.message_type() == MessageType::offer);
    CHECK(r.yiaddr == 0);
    CHECK(r.siaddr == k_tftp);
    CHECK(r.sname == "10.1.0.2");
    CHECK(r.file == "52-54-00-12-34-56/bootaa64.efi");
    CHECK(*r.find(Option::server_id) == Bytes{10, 1, 0, 2});
    CHECK(*r.find(Option::vendor_class) == Bytes{'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't'});
    CHECK(*r.find(Option::client_guid) == *request.find(Option::client_guid));
    // No PXE menu: with one, edk2 would run a boot server discovery instead of loading the file.
    CHECK(r.find(Option::vendor_specific) == nullptr);
    CHECK(d.destination == 0xffffffff);
    CHECK(d.destination_port == 68);
    // It survives the wire.
    auto wire = encode(r);
    REQUIRE(wire);
    auto back = decode(*wire);
    REQUIRE(back);
    CHECK(back->file == r.file);
}

TEST_CASE("arm64 UEFI clients are answered only for enrolled uefi-arm64 nodes") {
    ProxyConfig c = uefi_config();
    c.allow_unknown = AllowUnknown::yes; // no boot file for an unknown machine all the same
    const std::array<std::uint8_t, 6> stranger{0x52, 0x54, 0x00, 0x99, 0x99, 0x99};
    CHECK(decide(c, uefi_packet(MessageType::discover, stranger), TftpHealth::healthy).verdict ==
          Verdict::unknown_node);
    // A Pi's MAC asking as a UEFI client: not a uefi-arm64 node.
    CHECK(decide(c, uefi_packet(MessageType::discover, k_mac), TftpHealth::healthy).verdict ==
          Verdict::unknown_node);
    // The UEFI node's MAC in a Pi DISCOVER: not a Pi node.
    const Packet pi_from_uefi_mac = make_pi_discover(k_uefi_mac, 1, "RPi5", 0x01020304,
                                                     FourCcOrder::ascii, BroadcastFlag::clear);
    c.allow_unknown = AllowUnknown::no;
    CHECK(decide(c, pi_from_uefi_mac, TftpHealth::healthy).verdict == Verdict::unknown_node);
    CHECK(decide(c, uefi_packet(MessageType::discover), TftpHealth::unhealthy).verdict ==
          Verdict::tftp_unhealthy);
    // Option 93 must say arm64 UEFI, whatever the vendor class claims.
    Packet x64 = uefi_packet(MessageType::discover);
    x64.set(Option::client_arch, Bytes{0x00, 0x07});
    CHECK(decide(c, x64, TftpHealth::healthy).verdict == Verdict::not_pi);
}

TEST_CASE("the PXE boot server port answers a UEFI REQUEST with an ACK carrying the file") {
    Packet request = uefi_packet(MessageType::request);
    request.ciaddr = 0x0a01003a; // the address the router leased
    const Decision d = decide_boot_server(uefi_config(), request, TftpHealth::healthy);
    REQUIRE(d.verdict == Verdict::offer);
    CHECK(d.reply->message_type() == MessageType::ack);
    CHECK(d.reply->file == "52-54-00-12-34-56/bootaa64.efi");
    CHECK(d.reply->ciaddr == 0x0a01003a);
    CHECK(d.reply->yiaddr == 0);
    CHECK(d.reply->siaddr == k_tftp);
    // Only REQUESTs of enrolled UEFI nodes; a DISCOVER on this port is not for us.
    CHECK(decide_boot_server(uefi_config(), uefi_packet(MessageType::discover), TftpHealth::healthy)
              .verdict == Verdict::not_discover);
    CHECK(decide_boot_server(config(), request, TftpHealth::healthy).verdict ==
          Verdict::unknown_node);
}
