// SPDX-License-Identifier: Apache-2.0
// Hostile section chains found by fuzzing the EEPROM codec: each must give a clear error and
// leave the image untouched, never write outside it. Edge cases that the script handles
// without corrupting anything must still give its exact bytes.
#include "firmware/eeprom/image.hpp"

#include <catch2/catch.hpp>

using namespace uhs;
using eeprom::Image;

namespace {

void put_be32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
    }
}

void named(std::string& b, std::size_t at, const std::string& name, const std::string& payload) {
    put_be32(b, at, eeprom::k_file_magic);
    put_be32(b, at + 4, static_cast<std::uint32_t>(16 + payload.size()));
    std::string header = name;
    header.resize(16, '\0');
    b.replace(at + 8, 16, header);
    b.replace(at + 24, payload.size(), payload);
}

// Boot code at 0, a PAD up to partition A (0x10000), then whatever the test adds.
std::string erased_with_boot_code(std::size_t size) {
    std::string b(size, '\xff');
    put_be32(b, 0, eeprom::k_boot_code_magic);
    put_be32(b, 4, 24);
    b.replace(8, 24, std::string(24, 'B'));
    put_be32(b, 0x20, eeprom::k_pad_magic);
    put_be32(b, 0x24, 0x10000 - 0x28);
    return b;
}

const std::string k_updatetime("\0\0\0\0\xff\xff\xff\xff", 8);

} // namespace

TEST_CASE("eeprom corrupt: a config that would overwrite the next section's header is refused") {
    std::string b = erased_with_boot_code(Image::k_2711_size);
    named(b, 0x10000, "bootconf.txt", "[all]\n");          // header 0x10000, payload to 0x1001e
    named(b, 0x10020, "cacert.der", std::string(32, 'C')); // the next section, 32 bytes on
    auto image = Image::parse(b);
    REQUIRE(image);
    // 12 bytes: hdr + 12 + 20 == next, so the script's check passes, but the payload would
    // run to hdr + 36, 4 bytes into cacert.der's header.
    auto replaced = image->replace_file("bootconf.txt", std::string(12, 'x'));
    REQUIRE_FALSE(replaced);
    CHECK(replaced.error().message ==
          "bootconf.txt (12 bytes) does not fit before the next section at 0x010020");
    CHECK(image->bytes() == b);
    // 8 bytes end exactly at the next header: accepted, no padding needed.
    REQUIRE(image->replace_file("bootconf.txt", std::string(8, 'y')));
    CHECK(image->extract("bootconf.txt").value() == std::string(8, 'y'));
    CHECK(image->extract("cacert.der").value() == std::string(32, 'C'));
}

TEST_CASE("eeprom corrupt: a last bootconf.txt may end 4 bytes into the reserved tail") {
    // rpi-eeprom-config checks hdr + len + 20 against the 4 KiB reserved tail, so the payload
    // may end 4 bytes past it; it writes no padding then (a negative count). Same bytes here.
    const std::size_t size = Image::k_2711_size;
    const std::size_t tail = size - 4096;
    const std::size_t header = tail - 20 - 4004; // 8-byte aligned; a 4004-byte config fits
    std::string b = erased_with_boot_code(size);
    named(b, 0x10000, "updatetime", k_updatetime);
    put_be32(b, 0x10020, eeprom::k_pad_magic);
    put_be32(b, 0x10024, static_cast<std::uint32_t>(header - 0x10028));
    named(b, header, "bootconf.txt", "[all]\n");
    auto image = Image::parse(b);
    REQUIRE(image);
    const std::string config(tail - header - 20, 'z');
    REQUIRE(config.size() <= eeprom::k_max_file_size);
    REQUIRE(image->replace_file("bootconf.txt", config));
    std::string expected = b;
    put_be32(expected, header + 4, static_cast<std::uint32_t>(config.size() + 16));
    expected.replace(header + 24, config.size(), config);
    CHECK(image->bytes() == expected);
    CHECK(image->extract("bootconf.txt").value() == config);
    // One byte more fails the script's own check.
    auto too_long = image->replace_file("bootconf.txt", config + "z");
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().message.find("does not fit") != std::string::npos);
}

TEST_CASE("eeprom corrupt: an updatetime shorter than 8 bytes is refused, not overrun") {
    // An RO updatetime selects the AB path; its partition copy is the image's last 24 bytes,
    // with an empty payload: stamping it would write 8 bytes past the end of the image.
    const std::size_t size = Image::k_2711_size;
    std::string b = erased_with_boot_code(size);
    named(b, 0x28, "updatetime", k_updatetime);
    put_be32(b, 0x48, eeprom::k_pad_magic);
    put_be32(b, 0x4c, 0x10000 - 0x50);
    put_be32(b, 0x20, eeprom::k_pad_magic); // the boot code's pad now ends at the updatetime
    put_be32(b, 0x24, 0);
    put_be32(b, 0x10000, eeprom::k_pad_magic);
    put_be32(b, 0x10004, static_cast<std::uint32_t>(size - 24 - 0x10008));
    named(b, size - 24, "updatetime", "");
    auto image = Image::parse(b);
    REQUIRE(image);
    REQUIRE(image->sections().back().offset == size - 24);
    auto stamped = image->set_timestamp(1700000000);
    REQUIRE_FALSE(stamped);
    CHECK(stamped.error().message ==
          "corrupt EEPROM image: updatetime at 0x07ffe8 holds 0 bytes, not 8");
    CHECK(image->bytes() == b);
}
