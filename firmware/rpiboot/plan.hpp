// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace uhs::rpiboot {

// The SoC of a board model: 2712 (CM5, CM5 Lite, Pi 5), 2711 (CM4), or 0 for a board with no
// Raspberry Pi bootloader EEPROM (uefi-arm64: its firmware is the board's own).
int soc_of(config::BoardModel model);

// The bootloader config (bootconf.txt) a node needs to boot from this cluster's network:
//   BOOT_ORDER=0xf12      network first, then SD/eMMC (a fallback for a node with local media
//                         when the boot server is down), then restart the sequence;
//   TFTP_PREFIX=0         the serial directory (<serial8>/) uhs-netboot serves per node;
//   TFTP_IP=<server>      the cluster's boot server, so a home router's own TFTP option 66
//                         can never send the node elsewhere;
//   BOOT_UART=1           bootloader log on the UART (costs nothing, helps every bring-up);
//   NET_INSTALL_AT_POWER_ON=0  no net-install screen delay at power-on.
// The text is the same for every node of one SoC, so one bundle can flash any slot.
std::string node_bootconf(const config::Cluster& cluster, const config::Node& node);

// What `flash bundle` writes, and where it takes its inputs from.
struct BundleInputs {
    std::filesystem::path recovery_bin; // the 2712 recovery.bin, copied as bootcode5.bin
    std::filesystem::path base_eeprom;  // the pieeprom-*.bin whose bootconf.txt is replaced
    std::int64_t timestamp = 0;         // the image's update timestamp and the .sig's ts:
};

// Finds recovery.bin and the newest pieeprom-YYYY-MM-DD.bin in `firmware_dir` (the layout of
// the rpi-eeprom package's bootloader-2712/latest/). Fails naming the missing file.
util::Result<BundleInputs> find_firmware(const std::filesystem::path& firmware_dir);

// Writes a recovery5-style directory to `out_dir` for `node`: bootcode5.bin (recovery.bin),
// config.txt (recovery.bin's own options), boot.conf (the node's config, for reference),
// pieeprom.bin (the base image with that config and timestamp) and pieeprom.sig. Each file is
// written atomically; on failure nothing that looks like a complete bundle is left behind
// (pieeprom.sig, which recovery.bin checks, is written last). A pieeprom-YYYY-MM-DD.bin older
// than the cluster's firmware.bootloader is refused.
util::Status write_bundle(const config::Cluster& cluster, const config::Node& node,
                          const BundleInputs& inputs, const std::filesystem::path& out_dir);

// recovery.bin's config.txt in a bundle: only the UART log. No recovery_reboot: with the
// nRPIBOOT jumper still fitted a reboot would land in the boot ROM again; the operator removes
// the jumper and power-cycles the slot.
inline constexpr const char* k_recovery_config_txt =
    "# uhs: options for recovery.bin (not the OS config.txt)\n"
    "uart_2ndstage=1\n";

} // namespace uhs::rpiboot
