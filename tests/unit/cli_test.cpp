// SPDX-License-Identifier: Apache-2.0
#include "builder/cli/commands.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "netboot/uhs_netboot.hpp"
#include "tests/unit/test_support.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

using namespace uhs;

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run uhs_image(std::vector<std::string> args) {
    std::ostringstream out, err;
    util::Io io{out, err};
    const int code = cli::run_uhs_image(args, io);
    return {code, out.str(), err.str()};
}

const std::string k_good = (test::data_dir() / "configs/good.yaml").string();
const std::string k_bad = (test::data_dir() / "configs/bad/43-many-errors.yaml").string();

} // namespace

TEST_CASE("uhs-image validate: 0 for a good file, 2 and every error for a bad one") {
    auto good = uhs_image({"validate", k_good});
    CHECK(good.code == 0);
    CHECK(good.out.ends_with("good.yaml: ok (2 nodes)\n"));

    auto bad = uhs_image({"validate", k_bad});
    CHECK(bad.code == 2);
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 4);
    CHECK(bad.err.find("43-many-errors.yaml:7:11: error: network.server:") != std::string::npos);
}

TEST_CASE("uhs-image validate --json lists the errors") {
    auto bad = uhs_image({"validate", k_bad, "--json"});
    CHECK(bad.code == 2);
    const auto report = nlohmann::json::parse(bad.out);
    CHECK(report["valid"] == false);
    REQUIRE(report["errors"].size() == 4);
    CHECK(report["errors"][1]["line"] == 7);
    CHECK(report["errors"][1]["column"] == 11);
}

TEST_CASE("uhs-image plan --json names every node's netboot directories") {
    auto plan = uhs_image({"plan", k_good, "--json", "--out", "/tmp/uhs-out"});
    REQUIRE(plan.code == 0);
    const auto json = nlohmann::json::parse(plan.out);
    CHECK(json["image_id"].is_null()); // no lock next to good.yaml
    CHECK(json["image_dir"] == "/tmp/uhs-out/<image-id>");
    const auto& nodes = json["nodes"];
    REQUIRE(nodes.size() == 2);
    CHECK(nodes[0]["netboot_directories"] ==
          nlohmann::json::array({"a1b2c3d4", "2c-cf-67-00-00-01"}));
    CHECK(nodes[0]["boot"]["dtb"] == "bcm2712-rpi-cm5l-cm5io.dtb");
    CHECK(nodes[0]["artifacts"][0] == "nodes/a1b2c3d4/config.txt");
    CHECK(nodes[1]["enrolled"] == false);
    CHECK(json["artifacts"][0] == "rootfs.tar");
}

TEST_CASE("uhs-image plan prints the not-enrolled hint in text mode") {
    auto plan = uhs_image({"plan", k_good});
    REQUIRE(plan.code == 0);
    CHECK(plan.out.find("image-id: (unknown until the lock exists") == 0);
    CHECK(plan.out.find("tftp a1b2c3d4/  ->  nodes/a1b2c3d4/{config.txt,cmdline.txt}") !=
          std::string::npos);
    CHECK(plan.out.find("not enrolled") != std::string::npos);
}

TEST_CASE("uhs-image exit codes for usage errors") {
    CHECK(uhs_image({}).code == 2);
    auto typo = uhs_image({"plna"});
    CHECK(typo.code == 2);
    CHECK(typo.err.find("did you mean 'plan'") != std::string::npos);
    CHECK(uhs_image({"validate"}).code == 2);
    CHECK(uhs_image({"validate", "/nonexistent.yaml"}).code == 2);
    CHECK(uhs_image({"--version"}).out.starts_with("uhs-image "));
    CHECK(uhs_image({"plan", "--help"}).code == 0);
}

TEST_CASE("uhs-netboot check fails while a node is not enrolled") {
    std::ostringstream out, err;
    util::Io io{out, err};
    const std::vector<std::string> args{"check", k_good};
    CHECK(netboot::run_uhs_netboot(args, io) == 1);
    CHECK(out.str().find("n1 (slot 1, 10.1.0.11): tftp a1b2c3d4/ tftp 2c-cf-67-00-00-01/") !=
          std::string::npos);
    CHECK(err.str().find("1 node(s) without serial or MAC") != std::string::npos);
}

TEST_CASE("uhs-image validate: a hostile file's bytes reach no terminal raw and no JSON broken") {
    // Raw terminal escapes (a title change, a C1 CSI), a byte that is no UTF-8 (nlohmann's
    // dump threw on it) and a 100 kB value, in places the diagnostics quote.
    test::TestDir dir;
    std::string text = *util::read_file(k_good);
    text += "k\xff\x1b]0;owned\a\xc2\x9b"
            "2J: 1\n";
    const std::string file = (dir.path() / "hostile.yaml").string();
    REQUIRE(util::write_file_atomic(file, text));
    const std::string huge = std::string(100000, 'k') + ": 1\n"; // an unknown key, quoted
    const std::string huge_file = (dir.path() / "huge.yaml").string();
    REQUIRE(util::write_file_atomic(huge_file, *util::read_file(k_good) + huge));
    for (const std::string& path : {file, huge_file}) {
        INFO(path);
        const auto run = uhs_image({"validate", path});
        CHECK(run.code == 2);
        CHECK(!run.err.empty());
        for (std::string_view line : util::split(run.err, '\n')) {
            CHECK(line.size() < 1200);
            CHECK(std::none_of(line.begin(), line.end(), [](char c) {
                const auto byte = static_cast<unsigned char>(c);
                return byte < 0x20 || byte == 0x7f || byte == 0xff;
            }));
            CHECK(line.find("\xc2\x9b") == std::string_view::npos);
        }
        const auto json_run = uhs_image({"validate", path, "--json"});
        CHECK(json_run.code == 2);
        const auto report = nlohmann::json::parse(json_run.out); // throws on invalid UTF-8
        CHECK(report["valid"] == false);
    }
    // The escape shows as text, so the user still sees what is there.
    CHECK(uhs_image({"validate", file})
              .err.find("unknown key 'k\\xff\\x1b]0;owned\\x07\\xc2\\x9b2J'") != std::string::npos);
}
