// SPDX-License-Identifier: Apache-2.0
// The EEPROM codec on synthetic images the test builds, so a clone without
// ../shared/fixtures still tests it (the golden tests are tests/system/eeprom_golden.sh).
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/image.hpp"

#include <catch2/catch.hpp>

using namespace uhs;
using eeprom::Image;

namespace {

class Builder {
public:
    explicit Builder(std::size_t size) : m_bytes(size, '\xff') {}

    Builder& section(std::size_t offset, std::uint32_t magic, const std::string& name,
                     const std::string& payload) {
        std::string body = payload;
        if (!name.empty()) {
            std::string header = name.substr(0, 12);
            header.resize(12, '\0');
            body = header + std::string(4, '\0') + payload;
        }
        put(offset, magic);
        put(offset + 4, static_cast<std::uint32_t>(body.size()));
        m_bytes.replace(offset + 8, body.size(), body);
        return *this;
    }
    Builder& pad(std::size_t from, std::size_t to) {
        put(from, eeprom::k_pad_magic);
        put(from + 4, static_cast<std::uint32_t>(to - from - 8));
        return *this;
    }
    std::string bytes() const { return m_bytes; }

private:
    void put(std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            m_bytes[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
        }
    }
    std::string m_bytes;
};

const std::string k_config = "[all]\nBOOT_UART=1\nBOOT_ORDER=0xf461\n";

// The AB layout of a current BCM2712 image, in miniature content.
std::string ab_image() {
    return Builder(Image::k_2712_size)
        .section(0, eeprom::k_boot_code_magic, "", std::string(100, 'B'))
        .section(0x70, eeprom::k_file_magic, "updatetime",
                 std::string("\0\0\0\0\xff\xff\xff\xff", 8))
        .pad(0x90, 0x10000)
        .section(0x10000, eeprom::k_file_magic, "bootsys", std::string(64, 'S'))
        .section(0x10058, eeprom::k_file_magic, "updatetime",
                 std::string("\0\0\0\0\xff\xff\xff\xff", 8))
        .section(0x10078, eeprom::k_file_magic, "bootconf.txt", k_config)
        .pad(0x100b8, 0x107000)
        .pad(0x107000, 0x1fe000)
        .bytes();
}

} // namespace

TEST_CASE("eeprom: parse the chain and extract files") {
    auto image = Image::parse(ab_image());
    REQUIRE(image);
    CHECK(image->soc() == 2712);
    CHECK(image->sections().size() == 8);
    CHECK(*image->extract("bootconf.txt") == k_config);
    CHECK(*image->extract("bootcode.bin") == std::string(100, 'B'));
    CHECK(image->extract("nope.bin").error().message == "no file 'nope.bin' in the EEPROM image");
}

TEST_CASE("eeprom: replacing bootconf.txt and putting it back restores every byte") {
    const std::string original = ab_image();
    auto image = Image::parse(original);
    REQUIRE(image);
    const std::string bigger = k_config + "TFTP_PREFIX=0\nBOOT_ORDER=0xf21\n";
    REQUIRE(image->replace_file("bootconf.txt", bigger));
    CHECK(*image->extract("bootconf.txt") == bigger);
    CHECK(image->bytes().size() == original.size());
    // The padding still ends where partition A ends.
    const auto& sections = image->sections();
    CHECK(sections[6].is_padding());
    CHECK(sections[7].offset == 0x107000);
    REQUIRE(image->replace_file("bootconf.txt", k_config));
    CHECK(image->bytes() == original);
}

TEST_CASE("eeprom: the 4076-byte limit is rpi-eeprom-config's") {
    auto image = Image::parse(ab_image());
    REQUIRE(image);
    CHECK(image->replace_file("bootconf.txt", std::string(4076, 'x')));
    auto too_big = image->replace_file("bootconf.txt", std::string(4077, 'x'));
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().message == "bootconf.txt is too large: 4077 bytes (at most 4076)");
}

TEST_CASE("eeprom: a config that runs into the next section is refused") {
    // Non-AB, 2711-sized: bootconf.txt followed directly by another file.
    auto image = Image::parse(Builder(Image::k_2711_size)
                                  .section(0, eeprom::k_boot_code_magic, "", "code")
                                  .pad(0x10, 0x10000)
                                  .section(0x10000, eeprom::k_file_magic, "bootconf.txt", k_config)
                                  .section(0x10040, eeprom::k_file_magic, "pubkey.bin", "k")
                                  .bytes());
    REQUIRE(image);
    CHECK(image->soc() == 2711);
    auto result = image->replace_file("bootconf.txt", k_config + "TFTP_PREFIX=0\n");
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("does not fit before the next section at 0x010040") !=
          std::string::npos);
}

TEST_CASE("eeprom: the last section gets plain 0xff fill, no pad header") {
    auto image = Image::parse(Builder(Image::k_2711_size)
                                  .section(0, eeprom::k_boot_code_magic, "", "code")
                                  .pad(0x10, 0x10000)
                                  .section(0x10000, eeprom::k_file_magic, "bootconf.txt", k_config)
                                  .bytes());
    REQUIRE(image);
    REQUIRE(image->replace_file("bootconf.txt", "[all]\n"));
    REQUIRE(image->sections().size() == 3); // boot code, padding, bootconf.txt
    CHECK(image->sections().back().name == "bootconf.txt");
    CHECK(image->bytes()[0x10020] == '\xff');
}

TEST_CASE("eeprom: corrupt images are refused with the offset") {
    SECTION("wrong size") {
        CHECK(Image::parse(std::string(1000, '\0'))
                  .error()
                  .message.starts_with("not a bootloader EEPROM image: 1000 bytes"));
    }
    SECTION("bad magic") {
        std::string bytes = ab_image();
        bytes[0x10000] = '\x12';
        CHECK(Image::parse(bytes).error().message ==
              "corrupt EEPROM image: bad section magic 0x12AAF11F at offset 0x010000");
    }
    SECTION("length past the end") {
        std::string bytes = ab_image();
        bytes.replace(0x107004, 4, std::string("\x7f\xff\xff\xff", 4));
        CHECK(Image::parse(bytes).error().message.find("past the end of the image") !=
              std::string::npos);
    }
    SECTION("named section shorter than its header") {
        std::string bytes = ab_image();
        bytes.replace(0x10004, 4, std::string("\0\0\0\x04", 4));
        CHECK(Image::parse(bytes).error().message.find("shorter than its header") !=
              std::string::npos);
    }
}

TEST_CASE("eeprom: the timestamp goes into both updatetime copies, little-endian") {
    auto image = Image::parse(ab_image());
    REQUIRE(image);
    REQUIRE(image->set_timestamp(0x65536180));
    const std::string expected("\x7f\x9e\xac\x9a\x80\x61\x53\x65", 8);
    CHECK(image->bytes().substr(0x70 + 24, 8) == expected);
    CHECK(image->bytes().substr(0x10058 + 24, 8) == expected);
}

TEST_CASE("eeprom: .sig text is rpi-eeprom-digest's") {
    CHECK(eeprom::make_sig("abc", 1700000000, 2712) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
          "ts: 1700000000\ntarget-soc: 2712\n");
    CHECK(eeprom::make_sig("abc", 1, std::nullopt).ends_with("\nts: 1\n"));
}

TEST_CASE("bootconf: single keys are edited in place or added under [all]") {
    CHECK(*eeprom::set_settings(k_config, {{"BOOT_ORDER", "0xf21"}, {"TFTP_PREFIX", "0"}}, 2712) ==
          "[all]\nBOOT_UART=1\nBOOT_ORDER=0xf21\nTFTP_PREFIX=0\n");
    // A key under a filter is not the unconditional one: a new [all] line is added.
    CHECK(*eeprom::set_settings("# mine\n[gpio8=0]\nBOOT_ORDER=0xf1\n", {{"BOOT_ORDER", "0xf2"}},
                                2712) ==
          "# mine\n[gpio8=0]\nBOOT_ORDER=0xf1\n[all]\nBOOT_ORDER=0xf2\n");
}

TEST_CASE("bootconf: values are checked against the bootloader's rules") {
    CHECK(eeprom::check_setting("BOOT_ORDER", "0xf21", 2712));
    CHECK(eeprom::check_setting("BOOT_ORDER", "0xf51", 2711));
    CHECK_FALSE(eeprom::check_setting("BOOT_ORDER", "0xf51", 2712));
    CHECK_FALSE(eeprom::check_setting("BOOT_ORDER", "f21", 2712));
    CHECK_FALSE(eeprom::check_setting("BOOT_ORDER", "0xf91", 2712));
    CHECK_FALSE(eeprom::check_setting("TFTP_PREFIX", "3", 2712));
    CHECK_FALSE(eeprom::check_setting("DHCP_REQ_TIMEOUT", "499", 2712));
    CHECK(eeprom::check_setting("DHCP_REQ_TIMEOUT", "500", 2712));
    CHECK_FALSE(eeprom::check_setting("TFTP_IP", "10.0.0", 2712));
    CHECK(eeprom::check_setting("SOME_FUTURE_KEY", "anything", 2712));
}

TEST_CASE("bootconf: the typed model keeps every line and finds what is wrong") {
    const std::string text = "# netboot\n[all]\nBOOT_ORDER=0xf21\nMY_OWN_KEY=1\n\n[gpio8=0]\n"
                             "BOOT_ORDER=0xf1\n[all]\nWAKE_ON_GPIO=1\nTFTP_PREFIX=7\n"
                             "[config.txt]\ndtoverlay=foo\nnot a setting";
    const auto config = eeprom::parse_bootconf(text);
    CHECK(config.render() == text); // identity, including the missing final LF
    CHECK(config.value("BOOT_ORDER") == "0xf21");
    CHECK(config.value("MY_OWN_KEY") == "1");
    CHECK_FALSE(config.value("dtoverlay")); // a config.txt option, not a bootloader key
    REQUIRE(config.lines.size() == 13);
    CHECK(config.lines[0].kind == eeprom::BootConfLine::Kind::comment);
    CHECK(config.lines[5].kind == eeprom::BootConfLine::Kind::section);
    CHECK_FALSE(config.lines[6].unconditional);

    const auto findings = eeprom::check_bootconf(config, 2712);
    REQUIRE(findings.size() == 2);
    CHECK(findings[0].severity == eeprom::Severity::warning);
    CHECK(findings[0].message == "line 9: WAKE_ON_GPIO does nothing on BCM2712 (Pi 4 only)");
    CHECK(findings[1].severity == eeprom::Severity::error);
    CHECK(findings[1].message.starts_with("line 10: TFTP_PREFIX=7: expected 0 (serial)"));
    // On a BCM2711 WAKE_ON_GPIO is fine.
    CHECK(eeprom::check_bootconf(config, 2711).size() == 1);
}

TEST_CASE("bootconf: dependent keys and the size limit") {
    auto findings = eeprom::check_bootconf(
        eeprom::parse_bootconf("[all]\nTFTP_PREFIX_STR=x/\nCLIENT_IP=10.0.0.9\nstray\n"), 2712);
    REQUIRE(findings.size() == 3);
    CHECK(findings[0].message == "line 2: TFTP_PREFIX_STR is used only with TFTP_PREFIX=1");
    CHECK(findings[1].message == "line 3: a static CLIENT_IP needs TFTP_IP too, or DHCP is used");
    CHECK(findings[2].message == "line 4: 'stray' is not KEY=VALUE; the bootloader ignores it");
    findings = eeprom::check_bootconf(eeprom::parse_bootconf(std::string(4077, '#')), 2712);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].message == "bootconf.txt is too large: 4077 bytes (at most 4076)");
    CHECK(eeprom::check_bootconf(eeprom::parse_bootconf(std::string(4076, '#')), 2712).empty());
    CHECK_FALSE(eeprom::check_setting("HTTP_HOST", "https://x", 2712));
    CHECK(eeprom::check_setting("HTTP_HOST", "boot.lab.home.arpa", 2712));
    CHECK_FALSE(eeprom::check_setting("MAC_ADDRESS", "dc-a6-32-01-36-c2", 2712));
}

TEST_CASE("eeprom: random corruption of a valid chain never crashes and never half-parses") {
    const std::string original = ab_image();
    std::uint32_t seed = 12345; // fixed: reproducible
    auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return seed >> 8;
    };
    int refused = 0;
    for (int i = 0; i < 300; ++i) {
        std::string bytes = original;
        const std::size_t header = std::vector<std::size_t>{
            0, 0x70, 0x90, 0x10000, 0x10058, 0x10078, 0x100b8, 0x107000}[next() % 8];
        bytes[header + next() % 8] = static_cast<char>(next());
        auto image = Image::parse(bytes);
        if (!image) {
            ++refused;
            CHECK(image.error().message.starts_with("corrupt EEPROM image: "));
            continue;
        }
        for (const auto& s : image->sections()) {
            CHECK(s.offset + 8 + s.length <= bytes.size());
        }
        (void)image->replace_file("bootconf.txt", k_config);
    }
    CHECK(refused > 0);
}
