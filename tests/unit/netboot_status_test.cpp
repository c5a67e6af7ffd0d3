// SPDX-License-Identifier: Apache-2.0
#include "netboot/status/status.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace uhs::netboot::status;

TEST_CASE("boot phase follows the files served") {
    Phase p = Phase::dhcp;
    p = next_phase(p, "a1b2c3d4/config.txt", false); // a probe says nothing
    CHECK(p == Phase::dhcp);
    p = next_phase(p, "a1b2c3d4/config.txt", true);
    CHECK(p == Phase::config);
    p = next_phase(p, "a1b2c3d4/bcm2712-rpi-cm5-cm5io.dtb", true);
    CHECK(p == Phase::config);
    p = next_phase(p, "a1b2c3d4/kernel_2712.img", true);
    CHECK(p == Phase::kernel);
    p = next_phase(p, "a1b2c3d4/cmdline.txt", true);
    CHECK(p == Phase::kernel);
    p = next_phase(p, "a1b2c3d4/initramfs_2712", true);
    CHECK(p == Phase::done);
}

TEST_CASE("registry renders /status JSON and /metrics") {
    Registry r;
    NodeStatus n1;
    n1.name = "n1";
    n1.directories = {"a1b2c3d4"};
    n1.image = "img";
    NodeStatus n2;
    n2.name = "n\"2";
    r.set_nodes({n1, n2});
    r.record_dhcp("n1", DhcpExchange{1000, "2c:cf:67:00:00:01", 7, "offer"}, true);
    r.record_dhcp("", DhcpExchange{1001, "aa:bb:cc:dd:ee:ff", 8, "unknown-node"}, false);
    r.record_file("a1b2c3d4", FileServed{1002, "a1b2c3d4/config.txt", 10, 3, true});
    r.update_counters([](Counters& c) { ++c.dhcp_malformed; });

    const auto j = nlohmann::json::parse(r.render_json());
    REQUIRE(j["nodes"].size() == 2);
    CHECK(j["nodes"][0]["name"] == "n1");
    CHECK(j["nodes"][0]["phase"] == "config");
    CHECK(j["nodes"][0]["offers"] == 1);
    CHECK(j["nodes"][0]["last_dhcp"]["xid"] == 7);
    CHECK(j["nodes"][0]["files"][0]["bytes"] == 10);
    CHECK(j["nodes"][1]["last_dhcp"].is_null());
    CHECK(j["counters"]["dhcp_received"] == 2);
    CHECK(j["counters"]["dhcp_offers"] == 1);
    CHECK(j["counters"]["dhcp_ignored"] == 1);
    CHECK(j["counters"]["dhcp_malformed"] == 1);

    const std::string m = r.render_prometheus();
    CHECK(m.find("uhs_netboot_dhcp_offers_total 1\n") != std::string::npos);
    CHECK(m.find("uhs_netboot_node_phase{node=\"n1\",phase=\"config\"} 1") != std::string::npos);
    CHECK(m.find("node=\"n\\\"2\"") != std::string::npos);
    CHECK(m.find("# TYPE uhs_netboot_tftp_healthy gauge") != std::string::npos);

    // Reloading keeps history of nodes that stay.
    r.set_nodes({n1});
    CHECK(r.nodes().at(0).offers == 1);
}

TEST_CASE("http responses") {
    Registry r;
    const std::string ok = http_response("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", r);
    CHECK(ok.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(ok.find("application/json") != std::string::npos);
    CHECK(http_response("GET /metrics HTTP/1.0\r\n\r\n", r).find("version=0.0.4") !=
          std::string::npos);
    CHECK(http_response("GET /nope HTTP/1.0\r\n\r\n", r).rfind("HTTP/1.0 404", 0) == 0);
    CHECK(http_response("POST /status HTTP/1.0\r\n\r\n", r).rfind("HTTP/1.0 405", 0) == 0);
    CHECK(http_response("garbage", r).rfind("HTTP/1.0 400", 0) == 0);
    const std::string head = http_response("HEAD /status HTTP/1.0\r\n\r\n", r);
    CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());
}

TEST_CASE("a file name that is not UTF-8 never breaks /status or /metrics") {
    // A TFTP client chooses the bytes of the file name; in.tftpd logs them as they are.
    Registry r;
    NodeStatus n;
    n.name = "n1";
    n.directories = {"a1b2c3d4"};
    r.set_nodes({n});
    r.record_file("a1b2c3d4", FileServed{1, "a1b2c3d4/\xff\xfe\x01x", 0, 1, false});
    std::string json;
    REQUIRE_NOTHROW(json = r.render_json());
    const auto j = nlohmann::json::parse(json);
    CHECK(j["nodes"][0]["files"][0]["path"] == "a1b2c3d4/\xEF\xBF\xBD\xEF\xBF\xBD\x01x");
    CHECK(http_response("GET /status HTTP/1.0\r\n\r\n", r).rfind("HTTP/1.0 200 OK", 0) == 0);
    CHECK_NOTHROW(r.render_prometheus());
}
