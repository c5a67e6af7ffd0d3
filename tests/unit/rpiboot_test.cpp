// SPDX-License-Identifier: Apache-2.0
// The rpiboot protocol against a simulated BCM2712 boot ROM + recovery.bin that follows
// usbboot's wire rules (FACTS-pi-boot.md §4.3) and the recovery bundle.
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"
#include "firmware/eeprom/image.hpp"
#include "firmware/rpiboot/plan.hpp"
#include "firmware/rpiboot/protocol.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <deque>

using namespace uhs;
using namespace std::chrono_literals;

namespace {

// One request recovery.bin makes in the second stage.
struct Request {
    std::uint32_t command;
    std::string name;
};

// A simulated device: the ROM stage checks the boot message and boot code; the second stage
// replays `script` and checks each reply as recovery.bin would. Every protocol violation is
// recorded in `errors` (and fails the transfer), so the test sees exactly what went wrong.
class SimDevice final : public rpiboot::Device {
public:
    enum class Expect { boot_message, boot_code, return_code, request, reply_any };

    SimDevice(bool rom, std::string serial, std::string expected_code, std::deque<Request> script)
        : m_rom(rom), m_serial(std::move(serial)), m_expected_code(std::move(expected_code)),
          m_script(std::move(script)), m_stage(rom ? Expect::boot_message : Expect::request) {}

    int serial_index() const override { return m_rom ? 0 : 5; }
    std::string serial() const override { return m_serial; }

    util::Status control_out(std::uint32_t value) override {
        if (m_pending_bulk != 0) {
            return violation("control OUT while " + std::to_string(m_pending_bulk) +
                             " bulk bytes are still due");
        }
        if (m_rom) {
            if (m_stage == Expect::boot_message && value != 24) {
                return violation("boot message length " + std::to_string(value) + ", not 24");
            }
            if (m_stage == Expect::return_code) {
                return violation("control OUT when the return code should be read");
            }
        } else if (m_stage != Expect::reply_any) {
            return violation("control OUT with no request outstanding");
        }
        m_pending_bulk = value;
        m_received.clear();
        if (!m_rom) {
            replies.push_back({m_current.name, value});
            if (m_current.command == 0 || value == 0) {
                // GetFileSize: the size rides in wValue/wIndex, no data follows.
                m_pending_bulk = 0;
                m_stage = Expect::request;
            }
        }
        return {};
    }

    util::Status bulk_out(std::string_view data) override {
        if (data.size() > rpiboot::k_bulk_chunk) {
            return violation("bulk transfer of " + std::to_string(data.size()) + " bytes");
        }
        if (data.size() > m_pending_bulk) {
            return violation("bulk data beyond the announced length");
        }
        m_received += data;
        m_pending_bulk -= static_cast<std::uint32_t>(data.size());
        if (m_pending_bulk != 0) {
            return {};
        }
        if (m_rom && m_stage == Expect::boot_message) {
            m_code_length = static_cast<unsigned char>(m_received[0]) |
                            static_cast<unsigned char>(m_received[1]) << 8 |
                            static_cast<unsigned char>(m_received[2]) << 16 |
                            static_cast<unsigned>(static_cast<unsigned char>(m_received[3])) << 24;
            if (m_received.substr(4) != std::string(20, '\0')) {
                return violation("non-zero signature in the boot message");
            }
            m_stage = Expect::boot_code;
        } else if (m_rom && m_stage == Expect::boot_code) {
            if (m_received.size() != m_code_length) {
                return violation("boot code length differs from the boot message");
            }
            m_code_ok = m_received == m_expected_code;
            m_stage = Expect::return_code;
        } else if (!m_rom) {
            files[m_current.name] = m_received;
            m_stage = Expect::request;
        }
        return {};
    }

    util::Result<std::string> control_in(std::uint32_t length) override {
        if (m_pending_bulk != 0) {
            return violation("control IN while bulk bytes are due");
        }
        if (m_rom) {
            if (m_stage != Expect::return_code || length != 4) {
                return violation("unexpected control IN of " + std::to_string(length));
            }
            m_gone = true;
            return std::string(m_code_ok ? std::string(4, '\0') : std::string("\x80\0\0\0", 4));
        }
        if (m_stage != Expect::request || length != 260) {
            return violation("control IN of " + std::to_string(length) + " before a reply");
        }
        if (m_script.empty()) {
            return violation("the host asked for a request after Done");
        }
        m_current = m_script.front();
        m_script.pop_front();
        std::string message(260, '\0');
        for (int i = 0; i < 4; ++i) {
            message[static_cast<std::size_t>(i)] =
                static_cast<char>((m_current.command >> (8 * i)) & 0xff);
        }
        message.replace(4, m_current.name.size(), m_current.name);
        m_stage = m_current.command == 2 ? Expect::request : Expect::reply_any;
        return message;
    }

    bool gone() const { return m_gone; }

    std::vector<std::string> errors;
    std::vector<std::pair<std::string, std::uint32_t>> replies; // name, announced length
    std::map<std::string, std::string> files;                   // what ReadFile delivered

private:
    std::unexpected<util::Error> violation(const std::string& what) {
        errors.push_back(what);
        return util::fail(util::Errc::io, "simulated device: ", what);
    }

    bool m_rom;
    std::string m_serial;
    std::string m_expected_code;
    std::deque<Request> m_script;
    Expect m_stage;
    std::uint32_t m_pending_bulk = 0;
    std::uint32_t m_code_length = 0;
    bool m_code_ok = false;
    bool m_gone = false;
    std::string m_received;
    Request m_current{};
};

// Hands out the ROM device, then (after it accepted the boot code) the second stage.
class SimTransport final : public rpiboot::Transport {
public:
    SimTransport(std::string boot_code, std::deque<Request> script, std::string serial)
        : rom(std::make_shared<SimDevice>(true, "", boot_code, std::deque<Request>{})),
          second(std::make_shared<SimDevice>(false, std::move(serial), "", std::move(script))) {}

    util::Result<std::unique_ptr<rpiboot::Device>> wait_for(std::optional<rpiboot::Stage> stage,
                                                            std::chrono::milliseconds) override {
        ++waits;
        if (!rom->gone() && stage != rpiboot::Stage::second) {
            return std::make_unique<Proxy>(rom);
        }
        if (rom->gone() && stage != rpiboot::Stage::rom) {
            return std::make_unique<Proxy>(second);
        }
        return util::fail(util::Errc::timeout, "simulated: no device");
    }

    std::shared_ptr<SimDevice> rom;
    std::shared_ptr<SimDevice> second;
    int waits = 0;

private:
    // The flasher owns its Device; the test keeps the state to inspect.
    struct Proxy final : rpiboot::Device {
        explicit Proxy(std::shared_ptr<SimDevice> d) : device(std::move(d)) {}
        int serial_index() const override { return device->serial_index(); }
        std::string serial() const override { return device->serial(); }
        util::Status control_out(std::uint32_t v) override { return device->control_out(v); }
        util::Status bulk_out(std::string_view d) override { return device->bulk_out(d); }
        util::Result<std::string> control_in(std::uint32_t l) override {
            return device->control_in(l);
        }
        std::shared_ptr<SimDevice> device;
    };
};

// recovery.bin's requests as observed on a CM5 (usbboot#386), plus the probes the simulation
// adds: a file that is not in the bundle, a name escaping the bundle, metadata.
std::deque<Request> recovery_script() {
    return {
        {0, "config.txt"},
        {1, "config.txt"},
        {0, "mcb.bin"},
        {0, "pieeprom.bin"},
        {0, "pieeprom.bin"},
        {1, "../../etc/passwd"},
        {1, "pieeprom.sig"},
        {1, "pieeprom.bin"},
        {0, "*MAC_ADDR*2C:CF:67:AA:BB:CC"},
        {0, "*EEPROM_UPDATE*1"},
        {2, ""},
    };
}

// A small but valid BCM2712 AB image the bundle can edit.
std::string synthetic_eeprom() {
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
    // The boot code carries the build strings `strings` shows in real images.
    const std::string code = "BOOTCODE VERSION:f5e89631 BUILD_TIMESTAMP=1786493216";
    put(0, eeprom::k_boot_code_magic);
    put(4, static_cast<std::uint32_t>(code.size()));
    bytes.replace(8, code.size(), code);
    named(0x40, "updatetime", std::string(8, '\0'));
    put(0x60, eeprom::k_pad_magic);
    put(0x64, 0x10000 - 0x68);
    named(0x10000, "updatetime", std::string(8, '\0'));
    named(0x10020, "bootconf.txt", "[all]\nBOOT_UART=1\n");
    put(0x10048, eeprom::k_pad_magic);
    put(0x1004c, 0x107000 - 0x10050);
    return bytes;
}

config::Cluster good_cluster() {
    auto cluster =
        config::load_cluster(test::data_dir() / "configs/good.yaml", config::LoadOptions{});
    REQUIRE(cluster);
    return *cluster;
}

// A bundle in `dir` made by write_bundle from synthetic firmware.
void make_bundle(const std::filesystem::path& dir) {
    REQUIRE(util::write_file_atomic(dir / "recovery.bin", std::string(40000, 'R')));
    REQUIRE(util::write_file_atomic(dir / "pieeprom-2026-01-02.bin", synthetic_eeprom()));
    auto inputs = rpiboot::find_firmware(dir);
    REQUIRE(inputs);
    inputs->timestamp = 1700000000;
    const auto cluster = good_cluster();
    REQUIRE(rpiboot::write_bundle(cluster, cluster.nodes.at(1), *inputs, dir / "bundle"));
}

} // namespace

TEST_CASE("rpiboot: a simulated CM5 is flashed end to end") {
    test::TestDir dir;
    make_bundle(dir.path());
    const auto bundle = dir.path() / "bundle";
    const std::string code = *util::read_file(bundle / "bootcode5.bin");
    SimTransport transport(code, recovery_script(), "10000000A1B2C3D4");
    std::vector<std::string> progress;
    auto result = rpiboot::flash(transport, bundle, {1s, 1s, 0ms},
                                 [&](std::string_view line) { progress.emplace_back(line); });
    INFO(util::join(progress, "\n"));
    REQUIRE(result);
    CHECK(transport.rom->errors.empty());
    CHECK(transport.second->errors.empty());
    CHECK(result->serial == "10000000a1b2c3d4");
    CHECK(result->mac == "2c:cf:67:aa:bb:cc");
    CHECK(result->report.done);
    CHECK(result->report.metadata.at("EEPROM_UPDATE") == "1");
    CHECK(result->report.missing == std::vector<std::string>{"mcb.bin"});
    CHECK(result->report.refused == std::vector<std::string>{"../../etc/passwd"});
    // What recovery.bin received is the bundle, and its .sig vouches for the image.
    const std::string image = transport.second->files.at("pieeprom.bin");
    CHECK(image == *util::read_file(bundle / "pieeprom.bin"));
    const std::string sig = transport.second->files.at("pieeprom.sig");
    CHECK(sig.substr(0, 64) == util::sha256_hex(image));
    // GetFileSize announced the real size; the refused and missing names got an empty reply.
    const auto& replies = transport.second->replies;
    CHECK(std::count(replies.begin(), replies.end(),
                     std::pair<std::string, std::uint32_t>{"pieeprom.bin", 2097152}) == 3);
    CHECK(std::count(replies.begin(), replies.end(),
                     std::pair<std::string, std::uint32_t>{"../../etc/passwd", 0}) == 1);
    auto conf = eeprom::Image::parse(image);
    REQUIRE(conf);
    // No TFTP_IP unless the cluster pins its server: a second boot server must stay possible.
    CHECK(conf->extract("bootconf.txt")->find("TFTP_IP") == std::string::npos);
}

TEST_CASE("rpiboot: a refused boot code, a silent device and a device that never reads the "
          "EEPROM are errors") {
    test::TestDir dir;
    make_bundle(dir.path());
    const auto bundle = dir.path() / "bundle";
    SECTION("the ROM rejects the boot code") {
        SimTransport transport("something else", recovery_script(), "a1b2c3d4");
        auto result = rpiboot::flash(transport, bundle, {1s, 1s, 0ms}, [](std::string_view) {});
        REQUIRE_FALSE(result);
        CHECK(result.error().message == "the boot ROM rejected bootcode5.bin (return code 0x80)");
    }
    SECTION("recovery.bin says Done without reading pieeprom.bin") {
        const std::string code = *util::read_file(bundle / "bootcode5.bin");
        SimTransport transport(code, {{0, "config.txt"}, {2, ""}}, "a1b2c3d4");
        auto result = rpiboot::flash(transport, bundle, {1s, 1s, 0ms}, [](std::string_view) {});
        REQUIRE_FALSE(result);
        CHECK(result.error().message ==
              "the device never read pieeprom.sig: the EEPROM was not written");
    }
    SECTION("no device") {
        struct Empty final : rpiboot::Transport {
            util::Result<std::unique_ptr<rpiboot::Device>>
            wait_for(std::optional<rpiboot::Stage>, std::chrono::milliseconds) override {
                return util::fail(util::Errc::timeout, "no BCM2712");
            }
        } transport;
        auto result = rpiboot::flash(transport, bundle, {1s, 1s, 0ms}, [](std::string_view) {});
        REQUIRE_FALSE(result);
        CHECK(result.error().code == util::Errc::timeout);
    }
    SECTION("a bundle without pieeprom.sig is refused before touching USB") {
        std::filesystem::remove(bundle / "pieeprom.sig");
        SimTransport transport("", recovery_script(), "a1b2c3d4");
        auto result = rpiboot::flash(transport, bundle, {1s, 1s, 0ms}, [](std::string_view) {});
        REQUIRE_FALSE(result);
        CHECK(result.error().message.ends_with("has no pieeprom.sig (make one with `uhs-image "
                                               "flash bundle`)"));
        CHECK(transport.waits == 0);
    }
}

TEST_CASE("rpiboot: ep_write splits bulk data into 16 KiB transfers") {
    struct Recorder final : rpiboot::Device {
        int serial_index() const override { return 0; }
        std::string serial() const override { return ""; }
        util::Status control_out(std::uint32_t v) override {
            calls.push_back("ctrl " + std::to_string(v));
            return {};
        }
        util::Status bulk_out(std::string_view d) override {
            calls.push_back("bulk " + std::to_string(d.size()));
            return {};
        }
        util::Result<std::string> control_in(std::uint32_t) override { return std::string(); }
        std::vector<std::string> calls;
    } device;
    REQUIRE(rpiboot::ep_write(device, std::string(40000, 'x')));
    CHECK(device.calls ==
          std::vector<std::string>{"ctrl 40000", "bulk 16384", "bulk 16384", "bulk 7232"});
    device.calls.clear();
    REQUIRE(rpiboot::ep_write(device, {}));
    CHECK(device.calls == std::vector<std::string>{"ctrl 0"});
    // A short control IN is an error, not a truncated request.
    CHECK_FALSE(rpiboot::ep_read(device, 260));
}

TEST_CASE("rpiboot: the bundle files refuse names outside the bundle") {
    test::TestDir dir;
    REQUIRE(util::write_file_atomic(dir.path() / "config.txt", "a"));
    std::filesystem::create_directories(dir.path() / "2712");
    REQUIRE(util::write_file_atomic(dir.path() / "2712" / "config.txt", "b"));
    const rpiboot::BundleFiles files(dir.path());
    CHECK(files.read("config.txt") == "b"); // 2712/ first, as usbboot
    CHECK_FALSE(files.read("../config.txt"));
    CHECK_FALSE(files.read("/etc/passwd"));
    CHECK_FALSE(files.read("2712/../config.txt"));
    CHECK_FALSE(files.read("absent.bin"));
}

TEST_CASE("rpiboot: the bundle is recovery5's layout with the node's config") {
    test::TestDir dir;
    make_bundle(dir.path());
    const auto bundle = dir.path() / "bundle";
    for (const char* name :
         {"bootcode5.bin", "config.txt", "boot.conf", "pieeprom.bin", "pieeprom.sig"}) {
        CHECK(std::filesystem::is_regular_file(bundle / name));
    }
    const std::string image = *util::read_file(bundle / "pieeprom.bin");
    CHECK(*util::read_file(bundle / "pieeprom.sig") ==
          util::sha256_hex(image) + "\nts: 1700000000\ntarget-soc: 2712\n");
    auto parsed = eeprom::Image::parse(image);
    REQUIRE(parsed);
    CHECK(*parsed->extract("bootconf.txt") == *util::read_file(bundle / "boot.conf"));
    CHECK(*parsed->extract("bootconf.txt") ==
          "[all]\nBOOT_UART=1\nBOOT_ORDER=0xf12\nTFTP_PREFIX=0\nTFTP_FILE_TIMEOUT=30000\n"
          "ENABLE_SELF_UPDATE=1\nNET_INSTALL_AT_POWER_ON=0\n");
    // A BCM2711 image is refused for a CM5 node.
    REQUIRE(util::write_file_atomic(dir.path() / "small.bin",
                                    std::string(eeprom::Image::k_2711_size, '\xff')));
    const auto cluster = good_cluster();
    auto refused = rpiboot::write_bundle(cluster, cluster.nodes.at(0),
                                         {dir.path() / "recovery.bin", dir.path() / "small.bin", 0},
                                         dir.path() / "other");
    REQUIRE_FALSE(refused);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "other" / "pieeprom.sig"));
}

TEST_CASE("a UEFI board has no Pi SoC, so no bundle is made for it") {
    CHECK(rpiboot::soc_of(config::BoardModel::cm5_lite) == 2712);
    CHECK(rpiboot::soc_of(config::BoardModel::pi5) == 2712);
    CHECK(rpiboot::soc_of(config::BoardModel::cm4) == 2711);
    CHECK(rpiboot::soc_of(config::BoardModel::uefi_arm64) == 0);
    test::TestDir dir;
    auto cluster = good_cluster();
    config::Node node = cluster.nodes.at(0);
    node.model = config::BoardModel::uefi_arm64;
    auto refused = rpiboot::write_bundle(cluster, node, {dir.path() / "r", dir.path() / "e", 0},
                                         dir.path() / "bundle");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("is a uefi-arm64") != std::string::npos);
    CHECK(refused.error().message.find("for BCM2712 boards (cm5, cm5-lite, pi5) only") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "bundle"));
}
