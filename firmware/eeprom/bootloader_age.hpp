// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace uhs::eeprom {

// The oldest bootloader build a CM5 netboots uhs images with: 2025-03-27 00:00 UTC. From that
// release the firmware's OS check accepts the tree named by device_tree= (uhs's config.txt
// names the board's tree that way); an older bootloader on a CM5 looks only for its own
// default name and stops before the kernel when it is missing (FACTS-cm5-hardware.md, "The
// firmware", from the rpi-eeprom 2025-03-27 release note and rpi-eeprom#682).
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
