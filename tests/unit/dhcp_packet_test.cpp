// SPDX-License-Identifier: Apache-2.0
#include "netboot/dhcp/packet.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace uhs::netboot::dhcp;

namespace {

Bytes header(std::uint8_t op = 1) {
    Bytes d(240, 0);
    d[0] = op;
    d[1] = 1;
    d[2] = 6;
    d[4] = 0x12;
    d[5] = 0x34;
    d[6] = 0x56;
    d[7] = 0x78;
    d[28] = 0x2c;
    d[29] = 0xcf;
    d[30] = 0x67;
    d[236] = 0x63;
    d[237] = 0x82;
    d[238] = 0x53;
    d[239] = 0x63;
    return d;
}

} // namespace

TEST_CASE("dhcp codec decodes the fixed header and options") {
    Bytes d = header();
    const Bytes opts{53, 1, 1, 60, 3, 'a', 'b', 'c', 0, 0, 255};
    d.insert(d.end(), opts.begin(), opts.end());
    auto p = decode(d);
    REQUIRE(p);
    CHECK(p->op == 1);
    CHECK(p->xid == 0x12345678);
    CHECK(p->message_type() == MessageType::discover);
    REQUIRE(p->find(Option::vendor_class));
    CHECK(*p->find(Option::vendor_class) == Bytes{'a', 'b', 'c'});
    CHECK(p->ethernet_address().value()[1] == 0xcf);
}

TEST_CASE("dhcp codec round-trips and pads replies to 300 bytes") {
    Packet p;
    p.op = 2;
    p.xid = 0xdeadbeef;
    p.flags = 0x8000;
    p.siaddr = 0x0a010002;
    p.sname = "boot";
    p.file = "a/b";
    p.set(Option::message_type, Bytes{2});
    p.set(Option::tftp_server, std::string_view{"10.1.0.2"});
    auto bytes = encode(p);
    REQUIRE(bytes);
    CHECK(bytes->size() == k_min_reply_size);
    auto back = decode(*bytes);
    REQUIRE(back);
    CHECK(back->xid == p.xid);
    CHECK(back->flags == 0x8000);
    CHECK(back->siaddr == p.siaddr);
    CHECK(back->sname == "boot");
    CHECK(back->file == "a/b");
    CHECK(back->options == p.options);
    p.file = std::string(128, 'x');
    CHECK_FALSE(encode(p));
}

TEST_CASE("dhcp codec splits long options and concatenates repeats (RFC 3396)") {
    Packet p;
    p.set(Option::message_type, Bytes{1});
    p.set(Option::vendor_specific, Bytes(300, 7));
    auto bytes = encode(p);
    REQUIRE(bytes);
    // 43 appears twice on the wire: 255 + 45 bytes.
    CHECK((*bytes)[243] == 43);
    CHECK((*bytes)[244] == 255);
    CHECK((*bytes)[243 + 257] == 43);
    CHECK((*bytes)[244 + 257] == 45);
    auto back = decode(*bytes);
    REQUIRE(back);
    CHECK(back->find(Option::vendor_specific)->size() == 300);
}

TEST_CASE("dhcp codec reads options from file and sname with option 52") {
    Bytes d = header();
    // file field (offset 108) holds option 67, sname (offset 44) holds option 66.
    const Bytes in_file{67, 2, 'x', 'y', 255};
    std::copy(in_file.begin(), in_file.end(), d.begin() + 108);
    const Bytes in_sname{66, 1, 'z'};
    std::copy(in_sname.begin(), in_sname.end(), d.begin() + 44);
    const Bytes opts{53, 1, 1, 52, 1, 3, 255};
    d.insert(d.end(), opts.begin(), opts.end());
    auto p = decode(d);
    REQUIRE(p);
    CHECK(p->file.empty());
    CHECK(p->sname.empty());
    CHECK(*p->find(Option::bootfile) == Bytes{'x', 'y'});
    CHECK(*p->find(Option::tftp_server) == Bytes{'z'});

    SECTION("without overload the fields are text") {
        Bytes plain = header();
        std::copy(in_file.begin(), in_file.end(), plain.begin() + 108);
        plain.insert(plain.end(), {53, 1, 1, 255});
        auto q = decode(plain);
        REQUIRE(q);
        CHECK(q->find(Option::bootfile) == nullptr);
        CHECK(q->file.size() == in_file.size());
    }
}

TEST_CASE("dhcp codec rejects malformed input with a reason") {
    SECTION("short") {
        Bytes d(100, 0);
        auto p = decode(d);
        REQUIRE_FALSE(p);
        CHECK(p.error().message.find("shorter") != std::string::npos);
    }
    SECTION("bad cookie") {
        Bytes d = header();
        d[236] = 0;
        d.push_back(255);
        CHECK_FALSE(decode(d));
    }
    SECTION("option past end") {
        Bytes d = header();
        d.insert(d.end(), {53, 1, 1, 60, 40, 'a'});
        auto p = decode(d);
        REQUIRE_FALSE(p);
        CHECK(p.error().message.find("offset 243") != std::string::npos);
    }
    SECTION("length byte missing") {
        Bytes d = header();
        d.insert(d.end(), {53});
        CHECK_FALSE(decode(d));
    }
    SECTION("no end") {
        Bytes d = header();
        d.insert(d.end(), {53, 1, 1});
        CHECK_FALSE(decode(d));
    }
    SECTION("bad overload value") {
        Bytes d = header();
        d.insert(d.end(), {52, 1, 9, 255});
        CHECK_FALSE(decode(d));
    }
    SECTION("overloaded file field with a truncated option") {
        Bytes d = header();
        d[108] = 67;
        d[109] = 200;
        d.insert(d.end(), {52, 1, 1, 255});
        CHECK_FALSE(decode(d));
    }
    SECTION("hlen over 16") {
        Bytes d = header();
        d[2] = 17;
        d.push_back(255);
        CHECK_FALSE(decode(d));
    }
}

TEST_CASE("dhcp codec survives random input") {
    std::mt19937 rng(42); // fixed seed: reproducible
    std::uniform_int_distribution<int> byte(0, 255);
    std::size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes d = header();
        const int extra = byte(rng);
        for (int i = 0; i < extra; ++i) {
            d.push_back(static_cast<std::uint8_t>(byte(rng)));
        }
        // Also corrupt the overloadable fields.
        for (int i = 0; i < 8; ++i) {
            d[44 + static_cast<std::size_t>(byte(rng)) % 192] =
                static_cast<std::uint8_t>(byte(rng));
        }
        if (auto p = decode(d)) {
            ++decoded;
            auto again = encode(*p);
            if (again) {
                auto p2 = decode(*again);
                REQUIRE(p2);
                CHECK(p2->options == p->options);
            }
        }
    }
    CHECK(decoded > 0);
}

TEST_CASE("dhcp sub-options encode and decode") {
    const std::vector<SubOption> subs{{6, {3}}, {10, {0, 'P', 'X', 'E'}}};
    const Bytes wire = encode_suboptions(subs);
    CHECK(wire == Bytes{6, 1, 3, 10, 4, 0, 'P', 'X', 'E', 255});
    auto back = decode_suboptions(wire);
    REQUIRE(back);
    CHECK(*back == subs);
    CHECK_FALSE(decode_suboptions(Bytes{9, 20, 0}));
    CHECK(format_ipv4(0x0a010002) == "10.1.0.2");
}
