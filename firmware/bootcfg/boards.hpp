// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"

#include <span>
#include <string_view>

namespace uhs::bootcfg {

// Everything uhs knows about one board model, in one place: config.txt, cmdline.txt, the
// build's boot/ assembly, the EEPROM plan and the boot-chain check all read it. Where a value
// is inferred rather than confirmed on the hardware, boards.cpp says so.
struct Board {
    config::BoardModel model;
    // 2712 (BCM2712: CM5, CM5 Lite, Pi 5), 2711 (BCM2711: CM4), 0 (no Raspberry Pi firmware).
    int soc = 0;
    // The root `compatible` of a device tree for this board must carry one of these.
    std::span<const std::string_view> soc_compatible;
    std::string_view kernel;      // the name the firmware loads (kernel=)
    std::string_view initramfs;   // `initramfs NAME followkernel`
    std::string_view default_dtb; // the name the firmware's OS check looks for by default
    // An enabled node with one of these compatibles, behind an alias, is the board's Ethernet.
    std::span<const std::string_view> ethernet_compatible;
    // The PCI modalias of the bridge the Ethernet sits behind (RP1 on BCM2712), or empty.
    std::string_view ethernet_bridge_pci;
    // Modules the Ethernet needs, in load order (names as modprobe spells them, '_' not '-');
    // each must be in the initramfs or built into the kernel.
    std::span<const std::string_view> nic_modules;
    std::string_view uart_alias;    // the device tree alias of the console UART
    std::string_view console;       // cmdline.txt's console= device for that UART
    std::string_view eeprom_family; // rpi-eeprom's firmware-<family>/ directory, or empty
};

// The board table's entry for a model (every model has one).
const Board& board_for(config::BoardModel model);

// Every board, in config::BoardModel order.
std::span<const Board> all_boards();

} // namespace uhs::bootcfg
