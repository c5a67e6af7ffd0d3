// SPDX-License-Identifier: Apache-2.0
// The board table: every row complete, names that round-trip, and the facts rows of one SoC
// must share (the disk image's config.txt writes one section per SoC from any of its boards).
#include "builder/config/board.hpp"
#include "builder/config/cluster.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace uhs;

TEST_CASE("board table: every row is complete and its name round-trips") {
    std::set<std::string_view> names;
    std::size_t index = 0;
    for (const config::Board& board : config::all_boards()) {
        INFO("row " << index << ": " << board.name);
        // Rows are in BoardModel order, one per model.
        CHECK(static_cast<std::size_t>(board.model) == index++);
        CHECK(&config::board_for(board.model) == &board);
        REQUIRE_FALSE(board.name.empty());
        CHECK(names.insert(board.name).second);
        CHECK(config::to_string(board.model) == board.name);
        CHECK(config::board_model_named(board.name) == board.model);
        if (board.raspberry_pi_firmware()) {
            CHECK((board.soc == 2711 || board.soc == 2712));
            CHECK_FALSE(board.config_txt_filter.empty());
            CHECK_FALSE(board.soc_compatible.empty());
            CHECK_FALSE(board.kernel.empty());
            CHECK_FALSE(board.initramfs.empty());
            CHECK_FALSE(board.default_dtb.empty());
            CHECK_FALSE(board.ethernet_compatible.empty());
            CHECK_FALSE(board.nic_modules.empty());
            CHECK_FALSE(board.uart_alias.empty());
            CHECK_FALSE(board.console.empty());
            CHECK(board.eeprom_family == std::to_string(board.soc));
        } else {
            // A UEFI board brings its own firmware: nothing the Pi firmware reads applies.
            CHECK(board.firmware == config::BootFirmware::uefi);
            CHECK(board.soc == 0);
            CHECK_FALSE(board.usb_flash);
            CHECK_FALSE(board.needs_device_tree_bootloader);
            CHECK(board.config_txt_filter.empty());
            CHECK(board.kernel.empty());
            CHECK(board.initramfs.empty());
            CHECK(board.default_dtb.empty());
            CHECK(board.nic_modules.empty());
            CHECK(board.console.empty());
            CHECK(board.eeprom_family.empty());
        }
        // recovery5 over USB is BCM2712's protocol.
        CHECK(board.usb_flash == (board.soc == 2712));
    }
    CHECK(index == 5);
    CHECK_FALSE(config::board_model_named("cm5lite"));
    CHECK_FALSE(config::board_model_named(""));
}

TEST_CASE("board table: boards of one SoC share its boot files and config.txt filter") {
    for (const config::Board& a : config::all_boards()) {
        for (const config::Board& b : config::all_boards()) {
            if (a.soc != b.soc || a.soc == 0) {
                continue;
            }
            INFO(a.name << " and " << b.name);
            CHECK(a.kernel == b.kernel);
            CHECK(a.initramfs == b.initramfs);
            CHECK(a.config_txt_filter == b.config_txt_filter);
            CHECK(a.eeprom_family == b.eeprom_family);
        }
    }
}
