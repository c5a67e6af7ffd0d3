// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the EEPROM section-chain parser and editor (firmware/eeprom/image.hpp).
// Inputs are laid over a 512 KiB image: byte 0 even = the rest is the image's first bytes (the
// parser meets arbitrary chains); odd = the rest is (offset, value) edits to a valid synthetic
// chain (the fuzzer mutates real structure). Every accepted image must keep its invariants
// through extract, replace_file and set_timestamp; any violation traps.
#include "firmware/eeprom/image.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using uhs::eeprom::Image;

void put_be32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    }
}

void named(std::string& b, std::size_t at, const std::string& name, const std::string& payload) {
    put_be32(b, at, uhs::eeprom::k_file_magic);
    put_be32(b, at + 4, static_cast<std::uint32_t>(16 + payload.size()));
    std::string header = name;
    header.resize(16, '\0');
    b.replace(at + 8, 16, header);
    b.replace(at + 24, payload.size(), payload);
}

// boot code, pad, then at 64 KiB: updatetime, bootconf.txt, pubkey.bin, pad to the end.
std::string valid_image() {
    std::string b(Image::k_2711_size, '\xff');
    put_be32(b, 0, uhs::eeprom::k_boot_code_magic);
    put_be32(b, 4, 16);
    b.replace(8, 16, std::string(16, 'B'));
    put_be32(b, 0x18, uhs::eeprom::k_pad_magic);
    put_be32(b, 0x1c, 0x10000 - 0x20);
    named(b, 0x10000, "updatetime", std::string(8, '\0'));
    named(b, 0x10020, "bootconf.txt", "[all]\nBOOT_ORDER=0xf21\n");
    named(b, 0x10050, "pubkey.bin", std::string(32, 'k'));
    put_be32(b, 0x10088, uhs::eeprom::k_pad_magic);
    put_be32(b, 0x1008c, static_cast<std::uint32_t>(Image::k_2711_size - 0x10090 - 4096));
    return b;
}

void check(bool ok) {
    if (!ok) {
        __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    std::string bytes;
    if ((data[0] & 1) == 0) {
        bytes.assign(Image::k_2711_size, '\xff');
        const std::size_t n = std::min(size - 1, bytes.size());
        bytes.replace(0, n, reinterpret_cast<const char*>(data + 1), n);
    } else {
        bytes = valid_image();
        for (std::size_t i = 1; i + 2 < size; i += 3) {
            // Edits land near the section headers: the first 256 bytes of either region.
            const std::size_t base = (data[i] & 0x80) ? 0x10000 : 0;
            bytes[base + (data[i] & 0x7f) * 2 + (data[i + 1] & 1)] = static_cast<char>(data[i + 2]);
        }
    }
    auto image = Image::parse(bytes);
    if (!image) {
        check(!image.error().message.empty());
        return 0;
    }
    for (const auto& s : image->sections()) {
        check(s.offset + 8 + s.length <= bytes.size());
        if (!s.name.empty()) {
            (void)image->extract(s.name);
        }
    }
    (void)image->extract("bootcode.bin");
    const std::string config = "[all]\nBOOT_ORDER=0xf12\nTFTP_PREFIX=0\n";
    if (image->replace_file("bootconf.txt", config)) {
        check(image->bytes().size() == bytes.size());
        auto again = Image::parse(image->bytes());
        check(again.has_value());
        check(again->extract("bootconf.txt").value_or("") == config);
    }
    (void)image->set_timestamp(1700000000);
    check(image->bytes().size() == bytes.size());
    return 0;
}
