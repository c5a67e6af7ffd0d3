// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace uhs::eeprom {

// The oldest bootloader build a CM5 netboots uhs images with: 2025-03-27 00:00 UTC. From that
// release the firmware's OS check looks for the tree named by device_tree= (uhs's config.txt
// names the board's tree that way) or the board's default name, and a missing tree stops the
// boot before the kernel (FACTS-cm5-hardware.md, "The firmware": the rpi-eeprom 2025-03-27
// release note and rpi-eeprom#682). How an older bootloader treats device_tree= on a CM5 is
// not documented there; uhs does not rely on it.
inline constexpr std::uint32_t k_cm5_min_bootloader_build = 1743033600;

// The oldest bootloader that updates itself from pieeprom.upd/.sig (2022-04-26; the value
// rpi-eeprom-update checks before it relies on self-update).
inline constexpr std::uint32_t k_self_update_min_build = 1650968668;

// "YYYY-MM-DD" of a Unix time, UTC.
std::string utc_date(std::uint32_t epoch);

// Refuses (Errc::invalid_input) a BCM2712 image built before k_cm5_min_bootloader_build, or
// one whose build timestamp cannot be read, saying why. `what` names the image in messages.
util::Status check_cm5_bootloader_build(std::string_view image_bytes, const std::string& what);

} // namespace uhs::eeprom
