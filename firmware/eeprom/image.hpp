// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::eeprom {

// One section of a Raspberry Pi bootloader EEPROM image (a chain of big-endian headers).
struct Section {
    std::size_t offset = 0; // of the 8-byte header
    std::uint32_t magic = 0;
    std::uint32_t length = 0; // bytes after the header
    std::string name;         // named files only ("bootconf.txt")

    bool is_named_file() const;
    bool is_padding() const;
};

inline constexpr std::uint32_t k_boot_code_magic = 0x55AAF00F;
inline constexpr std::uint32_t k_file_magic = 0x55AAF11F; // modifiable named file
inline constexpr std::uint32_t k_pad_magic = 0x55AAFEEF;
inline constexpr std::size_t k_max_file_size = 4096 - 20; // rpi-eeprom-config's MAX_FILE_SIZE

// A pieeprom.bin in memory: 512 KiB (BCM2711) or 2 MiB (BCM2712). Every edit reproduces
// rpi-eeprom-config byte for byte (../shared/design/FACTS-pi-boot.md §1.5, §1.6).
class Image {
public:
    // Parses `bytes`. Fails (Errc::invalid_input) on a wrong size, a bad magic, a section
    // running past the end or overlapping the next: the image is refused, never half-read.
    static util::Result<Image> parse(std::string bytes);

    const std::string& bytes() const { return m_bytes; }
    const std::vector<Section>& sections() const { return m_sections; }
    // 2712 or 2711, from the image size.
    int soc() const { return m_bytes.size() == k_2712_size ? 2712 : 2711; }

    // The payload of the first named file `name` ("bootcode.bin" is the boot code).
    util::Result<std::string> extract(std::string_view name) const;

    // Replaces the modifiable file `name` (bootconf.txt, bootconf.sig, pubkey.bin, cacert.der)
    // in partition A, as rpi-eeprom-config --config/--digest/--pubkey/--cacertder does.
    // Fails, leaving the image unchanged, when the payload exceeds 4076 bytes, would not fit
    // before the next section (the script's own check, plus the 4 bytes of the next header
    // that the script would overwrite), or would leave a chain that no longer parses.
    util::Status replace_file(std::string_view name, std::string_view payload);

    // Writes the update timestamp (rpi-eeprom-config --timestamp). Fails, unchanged, when the
    // RO copy has no partition-A twin or an updatetime section holds fewer than 8 bytes.
    util::Status set_timestamp(std::uint32_t epoch);

    static constexpr std::size_t k_2711_size = 512 * 1024;
    static constexpr std::size_t k_2712_size = 2 * 1024 * 1024;

private:
    explicit Image(std::string bytes) : m_bytes(std::move(bytes)) {}
    util::Status reparse();

    std::string m_bytes;
    std::vector<Section> m_sections;
};

// What a bootloader image says about its own build, from the strings `strings` shows in its
// uncompressed sections: "BUILD_TIMESTAMP=<epoch>" and "VERSION:<githash>". The bootloader
// publishes the same build timestamp in /proc/device-tree/chosen/bootloader/build-timestamp.
struct BuildInfo {
    std::optional<std::uint32_t> timestamp;
    std::optional<std::string> version;
};
BuildInfo build_info(std::string_view image_bytes);

// The update timestamp the image carries (the value set_timestamp writes, which the
// bootloader reports as chosen/bootloader/update-timestamp), or nullopt when unset (stock
// images hold 0xFFFFFFFF with ~ts 0) or when the two copies disagree.
std::optional<std::uint32_t> update_timestamp(const Image& image);

// The parsed text of a .sig file: the sha256 line and the optional "ts:" line. Unknown lines
// are skipped (the format may grow, FACTS-pi-boot.md §1.7). Fails on a missing or malformed
// sha256 line.
struct Sig {
    std::string sha256;
    std::optional<std::int64_t> ts;
};
util::Result<Sig> parse_sig(std::string_view text);

// The text of a .sig file as rpi-eeprom-digest -c SOC writes it: sha256, "ts: EPOCH",
// "target-soc: SOC" (omitted when `soc` is empty), each line LF-terminated.
std::string make_sig(std::string_view image_bytes, std::int64_t epoch, std::optional<int> soc);

} // namespace uhs::eeprom
