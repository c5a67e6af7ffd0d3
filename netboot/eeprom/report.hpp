// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace uhs::netboot::eeprom {

// What a booted node says about the bootloader that booted it: the node's
// uhs-bootloader-report (overlay bootloader-report) reads /proc/device-tree/chosen/bootloader/
// and the bootloader config and POSTs them to the daemon. Body format (text, LF lines):
//   build-timestamp: 1786493216         required, decimal
//   update-timestamp: 1786500000        optional
//   version: f5e89631                   optional, hex
//   <blank line>
//   [all]\nBOOT_UART=1 ...              optional: the bootloader config, as the node read it
struct BootloaderReport {
    std::uint32_t build_timestamp = 0;
    std::optional<std::uint32_t> update_timestamp;
    std::string version;
    std::optional<std::string> config;
    std::int64_t received_unix = 0; // set by whoever stores it
};

// The largest body accepted: the header lines plus a 4076-byte config with room to spare.
inline constexpr std::size_t k_max_report_body = 5120;

// Parses and validates a report body. Fails (Errc::invalid_input) naming the bad line.
util::Result<BootloaderReport> parse_report(std::string_view body);
// The stored form: the body format plus "received: EPOCH".
std::string render_report(const BootloaderReport& report);

// The daemon's record of each node's bootloader, in <state>/eeprom/: <node>.report (the last
// report) and <dir>.fetched (when the node's bootloader last fetched a staged pieeprom.upd
// completely: "unix_ms bytes\n"). Each file is written atomically.
class Ledger {
public:
    explicit Ledger(std::filesystem::path state_dir) : m_dir(std::move(state_dir) / "eeprom") {}

    util::Status write_report(const std::string& node, const BootloaderReport& report) const;
    std::optional<BootloaderReport> read_report(const std::string& node) const;

    util::Status record_fetch(const std::string& dir, std::int64_t unix_ms,
                              std::uint64_t bytes) const;
    // When <dir>'s bootloader last fetched pieeprom.upd, in Unix ms.
    std::optional<std::int64_t> last_fetch(const std::string& dir) const;

private:
    std::filesystem::path m_dir;
};

// POST /bootloader-report, as the daemon's status listener serves it. Only a node's own
// address (node.ip in the cluster file) may report, and only for itself.
class ReportEndpoint {
public:
    explicit ReportEndpoint(std::filesystem::path state_dir) : m_ledger(std::move(state_dir)) {}

    // The nodes and their addresses (call again after a reload).
    void set_nodes(const config::Cluster& cluster);

    // The HTTP response when `request` is for this endpoint, else nullopt (another handler's).
    // `peer` is the client's IPv4 address in host order. 204 stored; 400 malformed; 403 an
    // address that is no node's; 411/413 a missing or too large body.
    std::optional<std::string> answer(std::string_view request, std::uint32_t peer,
                                      std::int64_t now_unix) const;

    // Whether `request` (bytes read so far) is complete: its headers ended and, for a request
    // with Content-Length, the whole body is there.
    static bool complete(std::string_view request);

    const Ledger& ledger() const { return m_ledger; }

private:
    Ledger m_ledger;
    std::map<std::uint32_t, std::string> m_nodes; // address -> node name
};

// The TFTP directory a served path belongs to: "<dir>/..." and the staged
// ".eeprom/<dir>/pieeprom.upd" that the remap rules turn <dir>/pieeprom.upd into. Empty when
// neither.
std::string tftp_directory_of(std::string_view path);
// Whether a served path is a staged pieeprom.upd (after remapping).
bool is_staged_update(std::string_view path);

} // namespace uhs::netboot::eeprom
