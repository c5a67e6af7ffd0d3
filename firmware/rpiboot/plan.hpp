// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"
#include "firmware/eeprom/bootloader_age.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace uhs::rpiboot {

// The SoC of a board model (the board table's): 2712 (CM5, CM5 Lite, Pi 5), 2711 (CM4), or 0
// for a board with no Raspberry Pi bootloader EEPROM (uefi-arm64: its firmware is the board's
// own).
int soc_of(config::BoardModel model);

// TFTP_FILE_TIMEOUT for a node whose largest boot file has `largest_bytes`: the time that file
// takes at a pessimistic 3 MB/s (CM5s measure about 3.3 MB/s, rpi-eeprom#857) times 1.5, plus
// 10 s, rounded up to a whole second; never below the bootloader's default of 30000 ms (the
// key's documented minimum is 5000) and at most k_max_tftp_file_timeout_ms.
std::uint32_t tftp_file_timeout_ms(std::uint64_t largest_bytes);
inline constexpr std::uint32_t k_default_tftp_file_timeout_ms = 30000;
inline constexpr std::uint32_t k_max_tftp_file_timeout_ms = 600000;
// The largest boot file assumed when no built image is at hand (a Debian backports kernel is
// about 52 MB uncompressed; kernel plus a netboot initramfs stays well below this).
inline constexpr std::uint64_t k_assumed_largest_boot_file = 200ull * 1000 * 1000;
// Bootloaders before 2025-09-23 fail on a TFTP file of more than 65535 blocks (rpi-eeprom#720):
// 96 MB at the CM5's blksize 1468.
inline constexpr std::uint64_t k_block_wrap_bytes = 65535ull * 1468;
inline constexpr std::uint32_t k_block_wrap_fix_build = 1758585600; // 2025-09-23 00:00 UTC

// The bootloader config (bootconf.txt) a node needs to boot from this cluster's network:
//   BOOT_ORDER=0xf12      network first, then SD/eMMC (a fallback for a node with local media
//                         when the boot server is down), then restart the sequence;
//   TFTP_PREFIX=0         the serial directory (<serial8>/) uhs-netboot serves per node;
//   TFTP_FILE_TIMEOUT=<ms>  firmware.tftp_file_timeout when the cluster file sets it, else
//                         `tftp_file_timeout` (tftp_file_timeout_ms of the largest boot file);
//   TFTP_IP=<server>      only with network.pin_tftp_server: true. TFTP_IP overrides the
//                         server DHCP names, so it would defeat a second boot server;
//   ENABLE_SELF_UPDATE=1  the bootloader takes pieeprom.upd from its TFTP directory
//                         (uhs-netboot eeprom stage): explicit, so a staged config keeps it;
//   BOOT_UART=1           bootloader log on the UART (costs nothing, helps every bring-up);
//   NET_INSTALL_AT_POWER_ON=0  no net-install screen delay at power-on.
// The text is the same for every node of one SoC, so one bundle can flash any slot.
std::string node_bootconf(const config::Cluster& cluster, const config::Node& node,
                          std::uint32_t tftp_file_timeout = k_default_tftp_file_timeout_ms);

// What `flash bundle` writes, and where it takes its inputs from.
struct BundleInputs {
    std::filesystem::path recovery_bin; // the 2712 recovery.bin, copied as bootcode5.bin
    std::filesystem::path base_eeprom;  // the pieeprom-*.bin whose bootconf.txt is replaced
    std::int64_t timestamp = 0;         // the image's update timestamp and the .sig's ts:
    std::uint32_t tftp_file_timeout = k_default_tftp_file_timeout_ms; // for node_bootconf
    std::uint64_t largest_boot_file = 0;                              // bytes; 0 when not known
};

// Finds recovery.bin and the newest pieeprom-YYYY-MM-DD.bin in `firmware_dir` (the layout of
// the rpi-eeprom package's bootloader-2712/latest/). Fails naming the missing file.
util::Result<BundleInputs> find_firmware(const std::filesystem::path& firmware_dir);

// Writes a recovery5-style directory to `out_dir` for `node` (refusing a base image older than
// eeprom::k_cm5_min_bootloader_build, or older than k_block_wrap_fix_build when the largest boot
// file is over k_block_wrap_bytes): bootcode5.bin (recovery.bin), config.txt (recovery.bin's own
// options), boot.conf (the node's config, for reference), pieeprom.bin (the base image with that
// config and timestamp) and pieeprom.sig. Each file is written atomically; on failure nothing that
// looks like a complete bundle is left behind (pieeprom.sig, which recovery.bin checks, is written
// last). A pieeprom-YYYY-MM-DD.bin older than the cluster's firmware.bootloader is refused.
util::Status write_bundle(const config::Cluster& cluster, const config::Node& node,
                          const BundleInputs& inputs, const std::filesystem::path& out_dir);

// recovery.bin's config.txt in a bundle: only the UART log. No recovery_reboot: with the
// nRPIBOOT jumper still fitted a reboot would land in the boot ROM again; the operator removes
// the jumper and power-cycles the slot.
inline constexpr const char* k_recovery_config_txt =
    "# uhs: options for recovery.bin (not the OS config.txt)\n"
    "uart_2ndstage=1\n";

} // namespace uhs::rpiboot
