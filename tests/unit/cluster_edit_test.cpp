// SPDX-License-Identifier: Apache-2.0
// Editing a cluster file in place: enrolment's serial and MAC.
#include "builder/config/cluster.hpp"
#include "builder/config/cluster_edit.hpp"
#include "builder/util/fs.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace uhs;

TEST_CASE("enroll: serial and MAC are written into the node's entry, nothing else changes") {
    const std::string flow =
        "# cluster\napiVersion: uhs/v1\n"
        "cluster: {name: t, domain: t.home.arpa}\n"
        "network: {server: 10.1.0.2, interface: eth0, subnet: 10.1.0.0/24, gateway: 10.1.0.1}\n"
        "storage: {truenas: {host: 10.1.0.5, api_key_file: k, dataset: tank/uhs}}\n"
        "image: {sources: [{name: d, uri: auto, suites: [trixie], components: [main], keyring: " +
        (test::data_dir() / "configs/keyrings/test-archive.gpg").string() +
        "}], packages: [containerd], kernel: linux-image-arm64}\n"
        "kubernetes: {version: \"1.31\", control_plane_endpoint: 10.1.0.11:6443}\n"
        "nodes:\n"
        "  - {name: n1, slot: 1, model: cm5-lite, ip: 10.1.0.11, role: control-plane}  # first\n"
        "  - {name: n2, slot: 2, model: cm5, serial: \"aaaaaaaa\", ip: 10.1.0.12, role: worker}\n";
    SECTION("flow mapping, keys added after model") {
        auto edited = config::set_node_identity(flow, "c.yaml", "n1",
                                                {"10000000A1B2C3D4", "2C-CF-67-00-00-09"});
        INFO((edited ? std::string() : edited.error().message));
        REQUIRE(edited);
        CHECK(*edited == std::string(flow).replace(
                             flow.find("model: cm5-lite, ") + 15, 0,
                             ", serial: \"10000000a1b2c3d4\", mac: \"2c:cf:67:00:00:09\""));
    }
    SECTION("flow mapping, existing serial replaced in place") {
        auto edited = config::set_node_identity(flow, "c.yaml", "n2", {"bbbbbbbb", std::nullopt});
        REQUIRE(edited);
        std::string expected = flow;
        expected.replace(expected.find("aaaaaaaa"), 8, "bbbbbbbb");
        CHECK(*edited == expected);
    }
    SECTION("a serial another node has is refused") {
        auto edited = config::set_node_identity(flow, "c.yaml", "n1", {"AAAAAAAA", std::nullopt});
        REQUIRE_FALSE(edited);
        CHECK(edited.error().message.find("invalid") != std::string::npos);
    }
    SECTION("not a serial") {
        CHECK_FALSE(config::set_node_identity(flow, "c.yaml", "n1", {"xyz", std::nullopt}));
        CHECK_FALSE(config::set_node_identity(flow, "c.yaml", "n9", {"a1b2c3d4", std::nullopt}));
    }
    SECTION("block mapping in a file, atomically, comments kept") {
        test::TestDir dir;
        const auto file = dir.path() / "good.yaml";
        std::string text = *util::read_file(test::data_dir() / "configs/good.yaml");
        text = "# operator's note\n" + text;
        REQUIRE(util::write_file_atomic(file, text, 0600));
        std::filesystem::create_directories(dir.path() / "keyrings");
        std::filesystem::copy_file(test::data_dir() / "configs/keyrings/test-archive.gpg",
                                   dir.path() / "keyrings/test-archive.gpg");
        REQUIRE(config::enroll(file, "n2", {"c0ffee01", "2c:cf:67:00:00:02"}));
        const std::string after = *util::read_file(file);
        std::string expected = text;
        const std::size_t model = expected.find("model: cm5-lite", expected.find("name: n2"));
        expected.insert(expected.find('\n', model),
                        "\n    serial: \"c0ffee01\"\n    mac: \"2c:cf:67:00:00:02\"");
        CHECK(after == expected);
        const auto perms =
            std::filesystem::status(file).permissions() & std::filesystem::perms::all;
        CHECK(perms == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        // Existing block values are replaced in place.
        REQUIRE(config::enroll(file, "n1", {"0000000000000001", std::nullopt}));
        CHECK(util::read_file(file)->find("serial: \"0000000000000001\"\n    mac: "
                                          "\"2c:cf:67:00:00:01\"") != std::string::npos);
        auto cluster = config::load_cluster(file, config::LoadOptions{});
        REQUIRE(cluster);
        CHECK(cluster->nodes.at(1).serial_directory() == "c0ffee01");
    }
}
