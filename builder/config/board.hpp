// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace uhs::config {

// uefi_arm64: a generic arm64 board (or a Pi 4 with UEFI firmware) that network-boots through
// UEFI PXE; it has no Raspberry Pi serial and is recognised by its MAC.
enum class BoardModel { cm5, cm5_lite, pi5, cm4, uefi_arm64 };

// What boots the board off the network.
enum class BootFirmware {
    // The Raspberry Pi bootloader EEPROM: it asks for its serial's directory (TFTP_PREFIX 0) or
    // its MAC's, then reads config.txt and cmdline.txt.
    raspberry_pi,
    // The board's own UEFI firmware: PXE, matched by MAC only, loads <mac>/bootaa64.efi with
    // its own device tree (or ACPI). It has no Pi serial and no EEPROM uhs writes.
    uefi,
};

// Everything uhs knows about one board model, in one place: the cluster file's model names,
// config.txt, cmdline.txt, the build's boot/ assembly, the EEPROM plan and flashing, the boot
// server and the boot-chain check all read it. Adding a model is adding a row (board.cpp) and
// its tests. Where a value is inferred rather than confirmed on the hardware, board.cpp says so.
struct Board {
    BoardModel model;
    std::string_view name; // as the cluster file writes it (nodes[].model)
    BootFirmware firmware;
    // 2712 (BCM2712: CM5, CM5 Lite, Pi 5), 2711 (BCM2711: CM4), 0 (no Raspberry Pi firmware).
    int soc = 0;
    // recovery5 over USB (`uhs-image flash`, rpiboot's BCM2712 protocol) can write its EEPROM.
    bool usb_flash = false;
    // Its bootloader must be one whose OS check honours device_tree= (2025-03-27 or newer,
    // eeprom::check_cm5_bootloader_build): flash bundle and eeprom stage refuse older ones.
    bool needs_device_tree_bootloader = false;
    // The config.txt filter the disk image's section for this board's SoC sits under ([pi5]
    // matches every BCM2712 board, CM5 and CM5 Lite too), or empty.
    std::string_view config_txt_filter;
    // The root `compatible` of a device tree for this board must carry one of these.
    std::span<const std::string_view> soc_compatible;
    std::string_view kernel; // the name the firmware loads (kernel=)
    // boot/ holds that kernel gzip-compressed (gzip -9 -n): the firmware inflates it, and a
    // node fetches some 60 % fewer bytes by lock-step TFTP. Only where the firmware is known
    // to load gzip kernels.
    bool gzip_kernel = false;
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

    bool raspberry_pi_firmware() const { return firmware == BootFirmware::raspberry_pi; }
};

// The board table's entry for a model (every model has one).
const Board& board_for(BoardModel model);

// Every board, in BoardModel order.
std::span<const Board> all_boards();

// The model the cluster file's name stands for ("cm5-lite"), or nullopt.
std::optional<BoardModel> board_model_named(std::string_view name);

// The cluster file's name of a model.
std::string_view to_string(BoardModel model);

} // namespace uhs::config
