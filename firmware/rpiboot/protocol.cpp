// SPDX-License-Identifier: Apache-2.0
#include "firmware/rpiboot/protocol.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <thread>

namespace uhs::rpiboot {

using util::Errc;
using util::fail;

namespace {

std::uint32_t le32(std::string_view b, std::size_t at) {
    return std::uint32_t{static_cast<unsigned char>(b[at])} |
           (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 8) |
           (std::uint32_t{static_cast<unsigned char>(b[at + 2])} << 16) |
           (std::uint32_t{static_cast<unsigned char>(b[at + 3])} << 24);
}

bool is_rom_stage(const Device& device) {
    return device.serial_index() == 0 || device.serial_index() == 3;
}

} // namespace

util::Status ep_write(Device& device, std::string_view data) {
    if (data.size() > 0xFFFFFFFFu) {
        return fail(Errc::invalid_input, "USB write of ", std::to_string(data.size()),
                    " bytes is too large");
    }
    UHS_CHECK(device.control_out(static_cast<std::uint32_t>(data.size())));
    for (std::size_t at = 0; at < data.size(); at += k_bulk_chunk) {
        UHS_CHECK(device.bulk_out(data.substr(at, k_bulk_chunk)));
    }
    return {};
}

util::Result<std::string> ep_read(Device& device, std::uint32_t length) {
    auto data = UHS_TRY(device.control_in(length));
    if (data.size() != length) {
        return fail(Errc::io, "USB read: expected ", std::to_string(length), " bytes, got ",
                    std::to_string(data.size()));
    }
    return data;
}

util::Status send_boot_code(Device& device, std::string_view boot_code,
                            std::chrono::milliseconds settle) {
    if (boot_code.empty() || boot_code.size() > 0x7FFFFFFF) {
        return fail(Errc::invalid_input, "boot code of ", std::to_string(boot_code.size()),
                    " bytes cannot be sent");
    }
    // struct { int32 length; uint8 signature[20]; }, little-endian as the ROM reads it.
    std::string message(24, '\0');
    const auto length = static_cast<std::uint32_t>(boot_code.size());
    for (int i = 0; i < 4; ++i) {
        message[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
    }
    UHS_CHECK(ep_write(device, message));
    UHS_CHECK(ep_write(device, boot_code));
    std::this_thread::sleep_for(settle);
    auto code = UHS_TRY(ep_read(device, 4));
    if (const std::uint32_t rc = le32(code, 0); rc != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", rc);
        return fail(Errc::refused, "the boot ROM rejected bootcode5.bin (return code ", hex, ")");
    }
    return {};
}

std::optional<std::string> BundleFiles::read(std::string_view name) const {
    if (name.empty() || name.find("..") != std::string_view::npos || name.front() == '/' ||
        name.find('\0') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    for (const std::filesystem::path& candidate : {m_dir / "2712" / name, m_dir / name}) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(candidate, ec)) {
            continue;
        }
        if (auto bytes = util::read_file(candidate)) {
            return std::move(*bytes);
        }
    }
    return std::nullopt;
}

util::Result<ServeReport> serve_files(Device& device, const BundleFiles& files,
                                      const ProgressFn& progress, int max_requests) {
    ServeReport report;
    for (int n = 0; n < max_requests; ++n) {
        auto request = UHS_TRY(ep_read(device, 260));
        const std::uint32_t command = le32(request, 0);
        std::string_view raw = std::string_view(request).substr(4);
        const std::string name(raw.substr(0, raw.find('\0')));
        if (command == 2) { // Done: recovery.bin has what it needs
            report.done = true;
            progress("Done");
            return report;
        }
        if (name.empty()) {
            UHS_CHECK(ep_write(device, {}));
            return report;
        }
        if (name.front() == '*') {
            // *KEY*VALUE metadata from recovery.bin.
            const std::size_t star = name.find('*', 1);
            const std::string key = name.substr(1, star == std::string::npos ? star : star - 1);
            const std::string value = star == std::string::npos ? "" : name.substr(star + 1);
            report.metadata[key] = value;
            progress("metadata " + key + "=" + value);
            UHS_CHECK(ep_write(device, {}));
            continue;
        }
        if (command != 0 && command != 1) {
            return fail(Errc::io, "the device sent unknown file-server command ",
                        std::to_string(command), " for '", name, "'");
        }
        const bool refused = name.find("..") != std::string::npos || name.front() == '/';
        std::optional<std::string> data = refused ? std::nullopt : files.read(name);
        if (!data) {
            (refused ? report.refused : report.missing).push_back(name);
            progress((refused ? "refused " : "missing ") + name);
            UHS_CHECK(ep_write(device, {}));
            continue;
        }
        if (command == 0) {
            progress("GetFileSize " + name + ": " + std::to_string(data->size()) + " bytes");
            UHS_CHECK(device.control_out(static_cast<std::uint32_t>(data->size())));
        } else {
            progress("ReadFile " + name + ": " + std::to_string(data->size()) + " bytes");
            UHS_CHECK(ep_write(device, *data));
            report.files_read.push_back(name);
        }
    }
    return fail(Errc::failed, "the device made more than ", std::to_string(max_requests),
                " file-server requests; giving up");
}

util::Result<FlashResult> flash(Transport& transport, const std::filesystem::path& bundle_dir,
                                const FlashOptions& options, const ProgressFn& progress) {
    const BundleFiles files(bundle_dir);
    for (const char* needed : {"bootcode5.bin", "config.txt", "pieeprom.bin", "pieeprom.sig"}) {
        if (!files.read(needed)) {
            return fail(Errc::not_found, "the bundle ", bundle_dir.string(), " has no ", needed,
                        " (make one with `uhs-image flash bundle`)");
        }
    }
    progress("waiting for a BCM2712 in USB boot mode (nRPIBOOT fitted, USB connected)");
    auto device = UHS_TRY(transport.wait_for(std::nullopt, options.wait_rom));
    if (is_rom_stage(*device)) {
        const std::string boot_code = *files.read("bootcode5.bin");
        progress("boot ROM found: sending bootcode5.bin (" + std::to_string(boot_code.size()) +
                 " bytes)");
        UHS_CHECK(send_boot_code(*device, boot_code, options.settle));
        device.reset(); // the device re-enumerates as the second stage
        progress("waiting for the second stage");
        device = UHS_TRY(transport.wait_for(Stage::second, options.wait_second));
    }
    FlashResult result;
    result.serial = util::to_lower(device->serial());
    progress("second stage up, serial " + (result.serial.empty() ? "(none)" : result.serial));
    result.report = UHS_TRY(serve_files(*device, files, progress));
    const auto& read = result.report.files_read;
    for (const char* needed : {"pieeprom.sig", "pieeprom.bin"}) {
        if (std::find(read.begin(), read.end(), needed) == read.end()) {
            return fail(Errc::failed, "the device never read ", needed,
                        ": the EEPROM was not written");
        }
    }
    if (auto it = result.report.metadata.find("MAC_ADDR"); it != result.report.metadata.end()) {
        result.mac = util::to_lower(it->second);
    }
    return result;
}

} // namespace uhs::rpiboot
