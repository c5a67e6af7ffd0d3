// SPDX-License-Identifier: Apache-2.0
// The board table. Sources: FACTS-cm5-hardware.md and FACTS-pi-boot.md (../shared/design);
// "inferred" marks what only a real board can confirm.
#include "builder/config/board.hpp"

#include <array>

namespace uhs::config {

namespace {

using namespace std::string_view_literals;

constexpr std::array k_bcm2712_soc{"brcm,bcm2712"sv};
constexpr std::array k_bcm2711_soc{"brcm,bcm2711"sv};
// CM5 Ethernet is RP1's Cadence GEM behind PCIe (pcie2), as on the Pi 5; Debian's
// bcm2712-rpi-5-b.dtb (7.3.4) has it enabled as ethernet@40100000 with alias ethernet0.
constexpr std::array k_rp1_ethernet{"raspberrypi,rp1-gem"sv};
// RP1 (vendor 1de4, device 0001) and the modules between the PCIe link and a working end0:
// the PCIe host (built into Debian's kernels), the MSI-X bridge, RP1 itself, its clocks and
// pins, the MAC and the PHY (FACTS-cm5-hardware.md, "The initramfs"). RP1's drivers match on
// vendor and device only; the subsystem and class fields of this modalias are placeholders.
constexpr std::string_view k_rp1_pci = "pci:v00001DE4d00000001sv00001DE4sd00000001bc00sc00i00";
constexpr std::array k_rp1_chain{"pcie_brcmstb"sv, "irq_bcm2712_mip"sv, "rp1_pci"sv,
                                 "clk_rp1"sv,      "pinctrl_rp1"sv,     "macb"sv,
                                 "broadcom"sv};
// CM4: GENET v5 on the SoC with a Broadcom PHY on the UniMAC MDIO bus (module names inferred
// from Debian's kernel: genet.ko, mdio-bcm-unimac.ko, broadcom.ko).
constexpr std::array k_genet_ethernet{"brcm,bcm2711-genet-v5"sv};
constexpr std::array k_genet_chain{"mdio_bcm_unimac"sv, "genet"sv, "broadcom"sv};
constexpr std::array<std::string_view, 0> k_none{};

constexpr Board bcm2712(BoardModel model, std::string_view name, std::string_view dtb,
                        bool needs_device_tree_bootloader) {
    return Board{
        .model = model,
        .name = name,
        .firmware = BootFirmware::raspberry_pi,
        .soc = 2712,
        .usb_flash = true,
        .needs_device_tree_bootloader = needs_device_tree_bootloader,
        .config_txt_filter = "[pi5]",
        .soc_compatible = k_bcm2712_soc,
        .kernel = "kernel_2712.img",
        // "uncompressed and gzip kernels both load" (FACTS-cm5-hardware.md, "The firmware").
        .gzip_kernel = true,
        .initramfs = "initramfs_2712",
        .default_dtb = dtb,
        .ethernet_compatible = k_rp1_ethernet,
        .ethernet_bridge_pci = k_rp1_pci,
        .nic_modules = k_rp1_chain,
        // Debian's BCM2712 trees name only the debug UART (serial10 = ttyAMA10); the firmware's
        // serial0 rewrite has nothing to rewrite from there.
        .uart_alias = "serial10",
        .console = "ttyAMA10",
        .eeprom_family = "2712",
    };
}

// The default tree names are the firmware's (FACTS-cm5-hardware.md, "The firmware"). The
// 2025-03-27 bootloader floor is the CM5's (eeprom/bootloader_age.hpp); the Pi 5 is not held
// to it.
const std::array<Board, 5> k_boards{
    bcm2712(BoardModel::cm5, "cm5", "bcm2712-rpi-cm5-cm5io.dtb", true),
    bcm2712(BoardModel::cm5_lite, "cm5-lite", "bcm2712-rpi-cm5l-cm5io.dtb", true),
    bcm2712(BoardModel::pi5, "pi5", "bcm2712-rpi-5-b.dtb", false),
    Board{
        .model = BoardModel::cm4,
        .name = "cm4",
        .firmware = BootFirmware::raspberry_pi,
        .soc = 2711,
        // recovery5 over USB is BCM2712's protocol (rpiboot/protocol.hpp).
        .usb_flash = false,
        .needs_device_tree_bootloader = false,
        .config_txt_filter = "[cm4]",
        .soc_compatible = k_bcm2711_soc,
        .kernel = "kernel8.img",
        // Whether BCM2711's start4.elf inflates a gzip kernel8.img is not confirmed here: the
        // kernel stays as Debian ships it.
        .gzip_kernel = false,
        .initramfs = "initramfs8",
        .default_dtb = "bcm2711-rpi-cm4.dtb",
        .ethernet_compatible = k_genet_ethernet,
        .ethernet_bridge_pci = "",
        .nic_modules = k_genet_chain,
        // The firmware rewrites console=serial0 to the UART enable_uart=1 turned on (inferred
        // for Debian's CM4 tree).
        .uart_alias = "serial0",
        .console = "serial0",
        .eeprom_family = "2711",
    },
    // A UEFI board brings its own firmware and device tree (or ACPI): nothing here applies.
    Board{
        .model = BoardModel::uefi_arm64,
        .name = "uefi-arm64",
        .firmware = BootFirmware::uefi,
        .soc = 0,
        .usb_flash = false,
        .needs_device_tree_bootloader = false,
        .config_txt_filter = "",
        .soc_compatible = k_none,
        .kernel = "",
        .gzip_kernel = false,
        .initramfs = "",
        .default_dtb = "",
        .ethernet_compatible = k_none,
        .ethernet_bridge_pci = "",
        .nic_modules = k_none,
        .uart_alias = "",
        .console = "",
        .eeprom_family = "",
    },
};

} // namespace

const Board& board_for(BoardModel model) {
    for (const Board& board : k_boards) {
        if (board.model == model) {
            return board;
        }
    }
    return k_boards.back(); // unreachable: every model has an entry (see the unit test)
}

std::span<const Board> all_boards() {
    return k_boards;
}

std::optional<BoardModel> board_model_named(std::string_view name) {
    for (const Board& board : k_boards) {
        if (board.name == name) {
            return board.model;
        }
    }
    return std::nullopt;
}

std::string_view to_string(BoardModel model) {
    return board_for(model).name;
}

} // namespace uhs::config
