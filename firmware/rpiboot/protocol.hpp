// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::rpiboot {

inline constexpr std::uint16_t k_broadcom_vid = 0x0a5c;
inline constexpr std::uint16_t k_bcm2712_pid = 0x2712;
inline constexpr std::size_t k_bulk_chunk = 16 * 1024; // usbboot's largest bulk transfer

// One enumerated BCM2712 in USB boot mode: the three transfers usbboot's protocol is made of
// (FACTS-pi-boot.md §4.3). The real one is libusb (usb_transport.hpp); tests use a simulated
// boot ROM.
class Device {
public:
    virtual ~Device() = default;
    // iSerialNumber's string-descriptor index: 0 or 3 means the boot ROM stage.
    virtual int serial_index() const = 0;
    // The iSerialNumber string (the board serial in the second stage; may be empty).
    virtual std::string serial() const = 0;
    // Vendor control OUT (0x40, bRequest 0, wValue = value & 0xffff, wIndex = value >> 16),
    // no data stage.
    virtual util::Status control_out(std::uint32_t value) = 0;
    // One bulk OUT transfer of at most k_bulk_chunk bytes.
    virtual util::Status bulk_out(std::string_view data) = 0;
    // Vendor control IN (0xC0, bRequest 0, wValue/wIndex = length, wLength = length).
    virtual util::Result<std::string> control_in(std::uint32_t length) = 0;
};

enum class Stage { rom, second };

// Finds devices. wait_for() polls until a device in `stage` appears (skipping one whose serial
// string equals `not_serial`, the re-enumeration check rpiboot does) or `timeout` passes
// (Errc::timeout).
class Transport {
public:
    virtual ~Transport() = default;
    virtual util::Result<std::unique_ptr<Device>> wait_for(std::optional<Stage> stage,
                                                           std::chrono::milliseconds timeout) = 0;
};

// usbboot's ep_write: a control OUT carrying the length, then bulk OUT in 16 KiB chunks.
util::Status ep_write(Device& device, std::string_view data);
// usbboot's ep_read.
util::Result<std::string> ep_read(Device& device, std::uint32_t length);

// ROM stage: the 24-byte boot message (length, zero signature), the boot code, then the ROM's
// 4-byte return code, which must be 0. `settle` is the pause before the read (1 s on hardware).
util::Status send_boot_code(Device& device, std::string_view boot_code,
                            std::chrono::milliseconds settle);

// Where the file server reads from: `<dir>/2712/<name>`, then `<dir>/<name>`. Names with `..`,
// a leading '/' or a NUL are refused (reported as missing, as usbboot does).
class BundleFiles {
public:
    explicit BundleFiles(std::filesystem::path dir) : m_dir(std::move(dir)) {}
    // The file's bytes, or nullopt when missing or refused.
    std::optional<std::string> read(std::string_view name) const;

private:
    std::filesystem::path m_dir;
};

// What the second stage did: metadata it wrote (*KEY*VALUE), the files it read, refusals.
struct ServeReport {
    std::map<std::string, std::string> metadata;
    std::vector<std::string> files_read;
    std::vector<std::string> missing; // asked for and not in the bundle
    std::vector<std::string> refused; // names with ".." and the like
    bool done = false;                // the device said Done (command 2)
};

// Progress lines ("GetFileSize pieeprom.bin: 2097152 bytes").
using ProgressFn = std::function<void(std::string_view)>;

// Second stage: the file-server loop (GetFileSize 0, ReadFile 1, Done 2; metadata; an empty
// name ends it). Bounded: more than `max_requests` requests is an error, never a hang.
util::Result<ServeReport> serve_files(Device& device, const BundleFiles& files,
                                      const ProgressFn& progress, int max_requests = 4096);

// The result of flashing one module.
struct FlashResult {
    std::string serial;             // the second stage's iSerialNumber, lowercase
    std::optional<std::string> mac; // metadata MAC_ADDR, when reported
    ServeReport report;
};

struct FlashOptions {
    std::chrono::milliseconds wait_rom{std::chrono::minutes(5)};     // for the operator
    std::chrono::milliseconds wait_second{std::chrono::seconds(30)}; // re-enumeration
    std::chrono::milliseconds settle{std::chrono::seconds(1)};
};

// The whole rpiboot run for a recovery bundle in `bundle_dir`: wait for the ROM, send
// bootcode5.bin, wait for the second stage, serve the bundle, and check that recovery.bin read
// pieeprom.bin and pieeprom.sig (usbboot's recovery.bin reports success even when it did not).
util::Result<FlashResult> flash(Transport& transport, const std::filesystem::path& bundle_dir,
                                const FlashOptions& options, const ProgressFn& progress);

} // namespace uhs::rpiboot
