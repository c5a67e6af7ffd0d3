// SPDX-License-Identifier: Apache-2.0
// The network EEPROM update path: staging pieeprom.upd/.sig for a node's self-update, every
// refusal, the node's report, and the bootconf fit for the boot set (TFTP_FILE_TIMEOUT,
// TFTP_IP, the oldest CM5 bootloader).
#include "builder/config/cluster.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/bootloader_age.hpp"
#include "firmware/eeprom/image.hpp"
#include "firmware/rpiboot/plan.hpp"
#include "netboot/eeprom/report.hpp"
#include "netboot/eeprom/stage.hpp"
#include "netboot/uhs_netboot.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <sstream>

namespace uhs {

namespace {

namespace ne = netboot::eeprom;
namespace fs = std::filesystem;

constexpr std::uint32_t k_build_2026_08_12 = 1786493216;
constexpr std::uint32_t k_build_2025_01_10 = 1736467200;

// A small valid BCM2712 AB image with the build strings real images carry.
std::string image_with(std::uint32_t build, const std::string& config) {
    std::string bytes(eeprom::Image::k_2712_size, '\xff');
    auto put = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            bytes[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
        }
    };
    auto named = [&](std::size_t at, const std::string& name, const std::string& payload) {
        put(at, eeprom::k_file_magic);
        put(at + 4, static_cast<std::uint32_t>(16 + payload.size()));
        std::string header = name;
        header.resize(16, '\0');
        bytes.replace(at + 8, 16, header);
        bytes.replace(at + 24, payload.size(), payload);
    };
    std::string code = "BOOTCODE VERSION:f5e89631 BUILD_TIMESTAMP=" + std::to_string(build);
    code.resize(56, ' ');
    put(0, eeprom::k_boot_code_magic);
    put(4, static_cast<std::uint32_t>(code.size()));
    bytes.replace(8, code.size(), code);
    named(0x40, "updatetime", std::string(4, '\0') + std::string(4, '\xff'));
    put(0x60, eeprom::k_pad_magic);
    put(0x64, 0x10000 - 0x68);
    named(0x10000, "updatetime", std::string(4, '\0') + std::string(4, '\xff'));
    named(0x10020, "bootconf.txt", config);
    const std::size_t after = (0x10020 + 24 + config.size() + 7) / 8 * 8;
    put(after, eeprom::k_pad_magic);
    put(after + 4, static_cast<std::uint32_t>(0x107000 - after - 8));
    return bytes;
}

const std::string k_good_conf = "[all]\nBOOT_ORDER=0xf12\nENABLE_SELF_UPDATE=1\n";

ne::BootloaderReport running(std::uint32_t build, std::optional<std::uint32_t> update,
                             std::optional<std::string> config) {
    ne::BootloaderReport r;
    r.build_timestamp = build;
    r.update_timestamp = update;
    r.config = std::move(config);
    return r;
}

ne::StageInput input_for(std::string image) {
    ne::StageInput in;
    in.image = std::move(image);
    in.now = 1790000000;
    in.model = config::BoardModel::cm5;
    in.running = running(k_build_2026_08_12 - 1000, 1780000000, "[all]\nBOOT_ORDER=0xf12\n");
    return in;
}

std::string refusal(const ne::StageInput& in) {
    auto plan = ne::plan_stage(in);
    REQUIRE_FALSE(plan);
    return plan.error().message;
}

bool has(const std::string& text, const std::string& part) {
    INFO(text);
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("eeprom: build info, update timestamp and .sig are read back from an image") {
    const std::string bytes = image_with(k_build_2026_08_12, k_good_conf);
    const auto info = eeprom::build_info(bytes);
    CHECK(info.timestamp == k_build_2026_08_12);
    CHECK(info.version == "f5e89631");
    auto image = eeprom::Image::parse(bytes);
    REQUIRE(image);
    CHECK_FALSE(eeprom::update_timestamp(*image)); // stock: 0xFFFFFFFF
    REQUIRE(image->set_timestamp(1790000000));
    CHECK(eeprom::update_timestamp(*image) == 1790000000u);
    auto sig =
        eeprom::parse_sig(eeprom::make_sig(image->bytes(), 1790000000, 2712) + "rsa2048: 00ff\n");
    REQUIRE(sig);
    CHECK(sig->sha256 == util::sha256_hex(image->bytes()));
    CHECK(sig->ts == 1790000000);
    CHECK_FALSE(eeprom::parse_sig("not a sig\n"));
    CHECK_FALSE(eeprom::build_info(std::string(100, 'x')).timestamp);
}

TEST_CASE("eeprom: a CM5 bootloader older than 2025-03-27 is refused, saying why") {
    CHECK(eeprom::check_cm5_bootloader_build(image_with(k_build_2026_08_12, k_good_conf), "x"));
    auto old =
        eeprom::check_cm5_bootloader_build(image_with(k_build_2025_01_10, k_good_conf), "old.bin");
    REQUIRE_FALSE(old);
    CHECK(has(old.error().message, "old.bin: bootloader built 2025-01-10 is older than "
                                   "2025-03-27"));
    CHECK(has(old.error().message, "device_tree="));
    CHECK(eeprom::check_cm5_bootloader_build(image_with(eeprom::k_cm5_min_bootloader_build, ""),
                                             "x"));
    CHECK_FALSE(eeprom::check_cm5_bootloader_build(std::string(4096, '\xff'), "x"));
}

TEST_CASE("eeprom plan: TFTP_FILE_TIMEOUT follows the largest file, within the bootloader's "
          "range") {
    using rpiboot::tftp_file_timeout_ms;
    CHECK(tftp_file_timeout_ms(0) == 30000);           // never below the default
    CHECK(tftp_file_timeout_ms(20'000'000) == 30000);  // 10 s + 10 s -> 30 s floor
    CHECK(tftp_file_timeout_ms(60'000'000) == 40000);  // 30 s + 10 s
    CHECK(tftp_file_timeout_ms(100'000'001) == 61000); // 50.0000005 s + 10, rounded up
    CHECK(tftp_file_timeout_ms(200'000'000) == 110000);
    CHECK(tftp_file_timeout_ms(10'000'000'000ull) == rpiboot::k_max_tftp_file_timeout_ms);
    // Whatever it says passes the bootloader key's own check.
    CHECK(
        eeprom::check_setting("TFTP_FILE_TIMEOUT", std::to_string(tftp_file_timeout_ms(0)), 2712));
}

TEST_CASE("eeprom plan: TFTP_IP only when the cluster pins its boot server") {
    auto cluster =
        config::load_cluster(test::data_dir() / "configs/good.yaml", config::LoadOptions{});
    REQUIRE(cluster);
    CHECK_FALSE(cluster->network.pin_tftp_server);
    const std::string free = rpiboot::node_bootconf(*cluster, cluster->nodes.at(0), 61000);
    CHECK(free == "[all]\nBOOT_UART=1\nBOOT_ORDER=0xf12\nTFTP_PREFIX=0\nTFTP_FILE_TIMEOUT=61000\n"
                  "ENABLE_SELF_UPDATE=1\nNET_INSTALL_AT_POWER_ON=0\n");
    cluster->network.pin_tftp_server = true;
    const std::string pinned = rpiboot::node_bootconf(*cluster, cluster->nodes.at(0), 61000);
    CHECK(has(pinned, "\nTFTP_IP=10.1.0.2\n"));
    for (const auto& f : eeprom::check_bootconf(eeprom::parse_bootconf(pinned), 2712)) {
        CHECK(f.severity != eeprom::Severity::error);
    }
}

TEST_CASE("cluster file: network.pin_tftp_server is true or false") {
    test::TestDir dir;
    const std::string good = *util::read_file(test::data_dir() / "configs/good.yaml");
    const auto with = [&](const std::string& value) {
        std::string text = good;
        const std::string keyring = "keyrings/test-archive.gpg";
        text.replace(text.find(keyring), keyring.size(),
                     (test::data_dir() / "configs" / keyring).string());
        text.replace(text.find("  gateway: 10.1.0.1\n"), 20,
                     "  gateway: 10.1.0.1\n  pin_tftp_server: " + value + "\n");
        REQUIRE(util::write_file_atomic(dir.path() / "c.yaml", text));
        return config::load_cluster(dir.path() / "c.yaml", config::LoadOptions{});
    };
    auto yes = with("true");
    REQUIRE(yes);
    CHECK(yes->network.pin_tftp_server);
    auto no = with("false");
    REQUIRE(no);
    CHECK_FALSE(no->network.pin_tftp_server);
    auto bad = with("yes");
    REQUIRE_FALSE(bad);
    CHECK(has(bad.error().front().to_string(), "network.pin_tftp_server"));
}

TEST_CASE("eeprom stage: each refusal says why") {
    SECTION("no ENABLE_SELF_UPDATE=1 in the update's config") {
        CHECK(has(refusal(input_for(image_with(k_build_2026_08_12, "[all]\nBOOT_ORDER=0xf12\n"))),
                  "does not say ENABLE_SELF_UPDATE=1"));
        CHECK(
            has(refusal(input_for(image_with(k_build_2026_08_12, "[all]\nENABLE_SELF_UPDATE=0\n"))),
                "ENABLE_SELF_UPDATE=1"));
    }
    SECTION("FREEZE_VERSION=1 in the update's config") {
        CHECK(has(
            refusal(input_for(image_with(k_build_2026_08_12, k_good_conf + "FREEZE_VERSION=1\n"))),
            "FREEZE_VERSION=1"));
    }
    SECTION("a CM5 update older than 2025-03-27") {
        CHECK(has(refusal(input_for(image_with(k_build_2025_01_10, k_good_conf))),
                  "older than 2025-03-27"));
    }
    SECTION("an image for another SoC, and a board with no EEPROM") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.model = config::BoardModel::cm4;
        CHECK(has(refusal(in), "the node needs BCM2711"));
        in.model = config::BoardModel::uefi_arm64;
        CHECK(has(refusal(in), "no Raspberry Pi bootloader EEPROM"));
    }
    SECTION("a .sig for another image") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.sig = eeprom::make_sig("other", 1790000000, 2712);
        CHECK(has(refusal(in), "--sig is for another image"));
    }
    SECTION("a node that has not reported: only with --force") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.running.reset();
        CHECK(has(refusal(in), "bootloader is unknown"));
        CHECK(has(refusal(in), "--force"));
        in.force = true;
        auto plan = ne::plan_stage(in);
        REQUIRE(plan);
        REQUIRE(plan->notes.size() == 1);
        CHECK(has(plan->notes.front(), "unknown"));
    }
    SECTION("a running bootloader that ignores pieeprom.upd: not even with --force") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.force = true;
        in.running->config = "[all]\nENABLE_SELF_UPDATE=0\n";
        CHECK(has(refusal(in), "runs with ENABLE_SELF_UPDATE=0"));
        in.running->config = "[all]\nFREEZE_VERSION=1\n";
        CHECK(has(refusal(in), "runs with FREEZE_VERSION=1"));
        in.running->config.reset();
        in.running->build_timestamp = 1600000000; // 2020: before self-update
        CHECK(has(refusal(in), "before self-update existed"));
    }
    SECTION("an update timestamp not newer than the node's: the bootloader would skip it") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.timestamp = 1780000000; // equal to the node's
        in.force = true;
        CHECK(has(refusal(in), "is not newer than the node's (1780000000)"));
    }
    SECTION("a downgrade, and the same build and config: only with --force") {
        auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
        in.running->build_timestamp = k_build_2026_08_12 + 1;
        CHECK(has(refusal(in), "a downgrade"));
        in.running->build_timestamp = k_build_2026_08_12;
        in.running->config = k_good_conf;
        CHECK(has(refusal(in), "nothing would change"));
        in.force = true;
        CHECK(ne::plan_stage(in));
    }
}

TEST_CASE("eeprom stage: the pair is written for each directory, replaced atomically and "
          "removed") {
    test::TestDir dir;
    const fs::path root = dir.path() / "tftproot";
    auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
    auto plan = ne::plan_stage(in);
    REQUIRE(plan);
    CHECK(plan->ts == 1790000000);
    CHECK(plan->build == k_build_2026_08_12);
    // The image carries the update timestamp its .sig announces (as rpi-eeprom-update does).
    auto stamped = eeprom::Image::parse(plan->upd);
    REQUIRE(stamped);
    CHECK(eeprom::update_timestamp(*stamped) == 1790000000u);
    CHECK(plan->sig == util::sha256_hex(plan->upd) + "\nts: 1790000000\ntarget-soc: 2712\n");

    const std::vector<std::string> dirs{"a1b2c3d4", "2c-cf-67-00-00-01"};
    REQUIRE(ne::stage(root, dirs, *plan));
    for (const std::string& d : dirs) {
        CHECK(*util::read_file(root / ".eeprom" / d / "pieeprom.upd") == plan->upd);
        CHECK(*util::read_file(root / ".eeprom" / d / "pieeprom.sig") == plan->sig);
        CHECK(fs::is_symlink(root / ".eeprom" / d));
        const auto s = ne::staged(root, d);
        REQUIRE(s);
        CHECK(s->sha256 == plan->sha256);
        CHECK(s->ts == 1790000000);
        CHECK(s->build == k_build_2026_08_12);
        CHECK(s->config == k_good_conf);
    }
    CHECK((fs::status(root / ".eeprom/a1b2c3d4/pieeprom.upd").permissions() &
           fs::perms::others_read) != fs::perms::none);

    // Staging another update replaces the link, never the files under a reader.
    const auto first = fs::read_symlink(root / ".eeprom/a1b2c3d4");
    in.timestamp = 1790000100;
    auto second = ne::plan_stage(in);
    REQUIRE(second);
    REQUIRE(ne::stage(root, {"a1b2c3d4"}, *second));
    CHECK(fs::read_symlink(root / ".eeprom/a1b2c3d4") != first);
    CHECK(ne::staged(root, "a1b2c3d4")->ts == 1790000100);
    CHECK(ne::staged(root, "2c-cf-67-00-00-01")->ts == 1790000000);

    REQUIRE(ne::unstage(root, dirs));
    CHECK_FALSE(ne::staged(root, "a1b2c3d4"));
    CHECK_FALSE(ne::staged(root, "2c-cf-67-00-00-01"));
    CHECK(fs::is_empty(root / ".eeprom/.content"));
    CHECK(ne::unstage(root, dirs)); // nothing staged is fine
}

TEST_CASE("eeprom stage: a given .sig is used with the image unchanged") {
    auto in = input_for(image_with(k_build_2026_08_12, k_good_conf));
    in.sig = eeprom::make_sig(in.image, 1795000000, 2712);
    auto plan = ne::plan_stage(in);
    REQUIRE(plan);
    CHECK(plan->upd == in.image);
    CHECK(plan->sig == *in.sig);
    CHECK(plan->ts == 1795000000);
}

TEST_CASE("bootloader report: parsed, validated and bounded") {
    auto r = ne::parse_report("build-timestamp: 1786493216\nupdate-timestamp: 1790000000\n"
                              "version: F5E89631\nfuture-key: x\n\n[all]\nBOOT_UART=1\n");
    REQUIRE(r);
    CHECK(r->build_timestamp == 1786493216u);
    CHECK(r->update_timestamp == 1790000000u);
    CHECK(r->version == "f5e89631");
    CHECK(r->config == "[all]\nBOOT_UART=1\n");
    auto round = ne::parse_report(ne::render_report(*r));
    REQUIRE(round);
    CHECK(round->config == r->config);
    CHECK(has(ne::parse_report("version: abc\n").error().message, "no build-timestamp"));
    CHECK(has(ne::parse_report("build-timestamp: soon\n").error().message, "line 1"));
    CHECK(has(ne::parse_report("build-timestamp 1\n").error().message, "key: value"));
    CHECK(has(ne::parse_report("build-timestamp: 1\nversion: xyz\n").error().message,
              "hex git hash"));
    CHECK_FALSE(ne::parse_report(std::string("build-timestamp: 1\n\x01", 21)));
    CHECK_FALSE(ne::parse_report("build-timestamp: 1\n\n" + std::string(5000, 'a')));
}

TEST_CASE("bootloader report endpoint: only a node's own address, stored for that node") {
    test::TestDir dir;
    auto cluster =
        config::load_cluster(test::data_dir() / "configs/good.yaml", config::LoadOptions{});
    REQUIRE(cluster);
    ne::ReportEndpoint endpoint(dir.path());
    endpoint.set_nodes(*cluster);
    const std::string body = "build-timestamp: 1786493216\nupdate-timestamp: 1790000000\n";
    const std::string request =
        "POST /bootloader-report HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    const std::uint32_t n1 = config::Ipv4::parse("10.1.0.11")->value;
    const std::uint32_t stranger = config::Ipv4::parse("10.1.0.99")->value;

    CHECK_FALSE(ne::ReportEndpoint::complete(request.substr(0, request.size() - 3)));
    CHECK(ne::ReportEndpoint::complete(request));
    CHECK(ne::ReportEndpoint::complete("GET /status HTTP/1.0\r\n\r\n"));
    CHECK_FALSE(endpoint.answer("GET /status HTTP/1.0\r\n\r\n", n1, 5)); // not ours

    CHECK(endpoint.answer(request, stranger, 5)->starts_with("HTTP/1.0 403"));
    CHECK_FALSE(endpoint.ledger().read_report("n1"));
    CHECK(endpoint.answer("GET /bootloader-report HTTP/1.0\r\n\r\n", n1, 5)
              ->starts_with("HTTP/1.0 405"));
    CHECK(endpoint.answer("POST /bootloader-report HTTP/1.0\r\n\r\n", n1, 5)
              ->starts_with("HTTP/1.0 411"));
    CHECK(endpoint
              .answer("POST /bootloader-report HTTP/1.0\r\nContent-Length: 999999\r\n\r\n", n1, 5)
              ->starts_with("HTTP/1.0 413"));
    CHECK(
        endpoint.answer("POST /bootloader-report HTTP/1.0\r\nContent-Length: 4\r\n\r\nnope", n1, 5)
            ->starts_with("HTTP/1.0 400"));
    CHECK_FALSE(endpoint.ledger().read_report("n1"));

    CHECK(endpoint.answer(request, n1, 1234)->starts_with("HTTP/1.0 204"));
    const auto stored = endpoint.ledger().read_report("n1");
    REQUIRE(stored);
    CHECK(stored->build_timestamp == 1786493216u);
    CHECK(stored->received_unix == 1234);
    CHECK_FALSE(endpoint.ledger().read_report("n2"));
}

TEST_CASE("served paths: staged updates map back to the node's directory") {
    CHECK(ne::tftp_directory_of("a1b2c3d4/config.txt") == "a1b2c3d4");
    CHECK(ne::tftp_directory_of(".eeprom/a1b2c3d4/pieeprom.upd") == "a1b2c3d4");
    CHECK(ne::tftp_directory_of(".uhs-health").empty());
    CHECK(ne::is_staged_update(".eeprom/a1b2c3d4/pieeprom.upd"));
    CHECK_FALSE(ne::is_staged_update(".eeprom/a1b2c3d4/pieeprom.sig"));
    CHECK_FALSE(ne::is_staged_update("a1b2c3d4/pieeprom.upd"));
    test::TestDir dir;
    ne::Ledger ledger(dir.path());
    CHECK_FALSE(ledger.last_fetch("a1b2c3d4"));
    REQUIRE(ledger.record_fetch("a1b2c3d4", 1790000000123, 2097152));
    CHECK(ledger.last_fetch("a1b2c3d4") == 1790000000123);
}

TEST_CASE("uhs-netboot eeprom: stage, status until the node reports the update, unstage") {
    test::TestDir dir;
    const std::string cluster = (test::data_dir() / "configs/good.yaml").string();
    const std::string state = (dir.path() / "state").string();
    const fs::path image = dir.path() / "upd.bin";
    REQUIRE(util::write_file_atomic(image, image_with(k_build_2026_08_12, k_good_conf)));
    auto run = [](std::vector<std::string> args) {
        std::ostringstream out, err;
        util::Io io{out, err};
        const int code = netboot::run_uhs_netboot(args, io);
        return std::tuple{code, out.str(), err.str()};
    };
    const std::vector<std::string> common{"--cluster", cluster, "--state", state};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), common.begin(), common.end());
        return run(args);
    };

    // n1 never reported: refused without --force, staged with it, saying so.
    auto [refused, refused_out, refused_err] =
        with({"eeprom", "stage", "n1", "--image", image.string()});
    CHECK(refused == 1);
    CHECK(has(refused_err, "bootloader is unknown"));
    CHECK_FALSE(fs::exists(fs::path(state) / "tftproot/.eeprom/a1b2c3d4"));
    auto [code, out, err] = with({"eeprom", "stage", "n1", "--image", image.string(), "--force",
                                  "--timestamp", "1790000000"});
    REQUIRE(code == 0);
    CHECK(has(err, "note: unknown"));
    CHECK(has(out, "a1b2c3d4/pieeprom.upd: staged build 2026-08-12 (1786493216), update ts "
                   "1790000000"));
    CHECK(has(out, "2c-cf-67-00-00-01/pieeprom.upd: staged"));

    auto [s1, status1, e1] = with({"eeprom", "status", "n1"});
    CHECK(s1 == 0);
    CHECK(has(status1, "reported: nothing yet"));

    // The node reports the build and update timestamp it now runs: applied.
    ne::Ledger ledger(state);
    auto report = running(k_build_2026_08_12, 1790000000, k_good_conf);
    report.received_unix = 1790000100;
    REQUIRE(ledger.write_report("n1", report));
    REQUIRE(ledger.record_fetch("a1b2c3d4", 1790000050000, 2097152));
    auto [s2, status2, e2] = with({"eeprom", "status", "n1"});
    CHECK(s2 == 0);
    CHECK(has(status2, "a1b2c3d4/: pieeprom.upd fetched at unix ms 1790000050000"));
    CHECK(has(status2, "reported at 1790000100: build 2026-08-12 (1786493216), update ts "
                       "1790000000"));
    CHECK(has(status2, "    ENABLE_SELF_UPDATE=1"));
    CHECK(has(status2, "staged update: applied"));

    // Staging the same update again is now refused: the bootloader would skip it.
    auto [again, again_out, again_err] =
        with({"eeprom", "stage", "n1", "--image", image.string(), "--timestamp", "1790000000"});
    CHECK(again == 1);
    CHECK(has(again_err, "is not newer than the node's"));

    auto [u, unstaged, ue] = with({"eeprom", "unstage", "n1"});
    CHECK(u == 0);
    auto [s3, status3, e3] = with({"eeprom", "status"});
    CHECK(has(status3, "a1b2c3d4/: nothing staged"));
    CHECK(has(status3, "n2:"));
    auto [bad, bad_out, bad_err] = with({"eeprom", "status", "nope"});
    CHECK(bad == 2);
}

} // namespace uhs
