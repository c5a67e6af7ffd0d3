// SPDX-License-Identifier: Apache-2.0
#include "firmware/eeprom/bootloader_age.hpp"

#include "firmware/eeprom/image.hpp"

#include <ctime>

namespace uhs::eeprom {

std::string utc_date(std::uint32_t epoch) {
    const std::time_t t = epoch;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return text;
}

util::Status check_cm5_bootloader_build(std::string_view image_bytes, const std::string& what) {
    const auto info = build_info(image_bytes);
    if (!info.timestamp) {
        return util::fail(util::Errc::invalid_input, what,
                          ": no BUILD_TIMESTAMP in the image, so its age is unknown; a CM5 "
                          "netboot needs a bootloader built on or after 2025-03-27");
    }
    if (*info.timestamp < k_cm5_min_bootloader_build) {
        return util::fail(util::Errc::invalid_input, what, ": bootloader built ",
                          utc_date(*info.timestamp),
                          " is older than 2025-03-27: the CM5 firmware's OS check honours "
                          "device_tree= only from that release (rpi-eeprom release notes, "
                          "rpi-eeprom#682), so an older one may not find the device tree uhs's "
                          "config.txt names and stop before the kernel; use a newer "
                          "pieeprom-*.bin");
    }
    return {};
}

} // namespace uhs::eeprom
