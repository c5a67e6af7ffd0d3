// SPDX-License-Identifier: Apache-2.0
#include "builder/config/net.hpp"

#include <catch2/catch.hpp>

using namespace uhs::config;

TEST_CASE("Ipv4 parses dotted quads strictly") {
    CHECK(Ipv4::parse("192.168.50.10")->to_string() == "192.168.50.10");
    CHECK(Ipv4::parse("0.0.0.0")->value == 0);
    CHECK(Ipv4::parse("255.255.255.255")->value == 0xffffffffu);
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-1", "01.2.3.4",
                            "1.2.3.4 ", "a.b.c.d", "1..2.3"}) {
        INFO(bad);
        CHECK_FALSE(Ipv4::parse(bad).has_value());
    }
}

TEST_CASE("Ipv4Prefix checks host bits, containment and overlap") {
    const auto subnet = *Ipv4Prefix::parse("192.168.50.0/24");
    CHECK(subnet.contains(*Ipv4::parse("192.168.50.77")));
    CHECK_FALSE(subnet.contains(*Ipv4::parse("192.168.51.1")));
    CHECK(subnet.broadcast().to_string() == "192.168.50.255");
    CHECK_FALSE(Ipv4Prefix::parse("192.168.50.1/24").has_value());
    CHECK_FALSE(Ipv4Prefix::parse("192.168.50.0/33").has_value());
    CHECK_FALSE(Ipv4Prefix::parse("192.168.50.0").has_value());
    CHECK(Ipv4Prefix::parse("0.0.0.0/0")->contains(*Ipv4::parse("8.8.8.8")));
    CHECK(Ipv4Prefix::parse("10.96.0.0/12")->overlaps(*Ipv4Prefix::parse("10.100.0.0/16")));
    CHECK_FALSE(Ipv4Prefix::parse("10.96.0.0/12")->overlaps(*Ipv4Prefix::parse("10.244.0.0/16")));
}

TEST_CASE("MacAddress accepts colons or dashes and formats both") {
    const auto mac = MacAddress::parse("2C-CF-67-0A-bc-01");
    REQUIRE(mac);
    CHECK(mac->with_colons() == "2c:cf:67:0a:bc:01");
    CHECK(mac->with_dashes() == "2c-cf-67-0a-bc-01");
    for (const char* bad : {"2c:cf:67:0a:bc", "2c:cf:67-0a:bc:01", "2c:cf:67:0a:bc:0g",
                            "2ccf670abc01", "2c:cf:67:0a:bc:011"}) {
        INFO(bad);
        CHECK_FALSE(MacAddress::parse(bad).has_value());
    }
}

TEST_CASE("serial_prefix is the low 32 bits as 8 lowercase hex digits") {
    CHECK(serial_prefix("10000000A1B2C3D4") == "a1b2c3d4");
    CHECK(serial_prefix("9ffefdef") == "9ffefdef");
}
