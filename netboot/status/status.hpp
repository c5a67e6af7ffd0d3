// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::netboot::status {

// Where a node's boot has got to, guessed from what it asked for.
enum class Phase { none, dhcp, config, kernel, initramfs, done };
std::string_view to_string(Phase phase);

struct DhcpExchange {
    std::int64_t unix_ms = 0; // when it arrived
    std::string client_mac;
    std::uint32_t xid = 0;
    std::string verdict; // "offer", "unknown-node", "tftp-unhealthy", ...
};

struct FileServed {
    std::int64_t unix_ms = 0; // when the request arrived
    std::string path;         // as requested, after // normalisation
    std::uint64_t bytes = 0;
    std::int64_t duration_ms = 0;
    bool complete = false; // false: aborted (a probe's "Early terminate") or failed
};

struct NodeStatus {
    std::string name;
    std::vector<std::string> directories; // TFTP directories it boots from
    std::string image;                    // image currently published for it
    std::optional<DhcpExchange> last_dhcp;
    std::uint64_t offers = 0;
    std::vector<FileServed> files; // last boot's files, oldest first (bounded)
    Phase phase = Phase::none;
};

// Process-wide counters for /metrics.
struct Counters {
    std::uint64_t dhcp_received = 0;
    std::uint64_t dhcp_malformed = 0;
    std::uint64_t dhcp_offers = 0;
    std::uint64_t dhcp_ignored = 0;
    std::uint64_t tftp_files = 0;
    std::uint64_t tftp_bytes = 0;
    std::uint64_t tftpd_restarts = 0;
    bool tftp_healthy = false;
    std::uint64_t reloads = 0;
};

// The daemon's observable state. Thread-safe: the event loop writes, HTTP reads.
class Registry {
public:
    // Replaces the set of nodes (keeps history of nodes that stay).
    void set_nodes(const std::vector<NodeStatus>& nodes);
    // Sets the image a node is served.
    void set_image(const std::string& node, const std::string& image);
    // Records a DHCP exchange; `node` may be empty (unknown client).
    void record_dhcp(const std::string& node, const DhcpExchange& exchange, bool offered);
    // Records a file served from TFTP directory `dir` (mapped to its node).
    void record_file(const std::string& dir, const FileServed& file);
    // Mutates the counters under the lock.
    template <class F> void update_counters(F&& f) {
        std::lock_guard lock(m_mutex);
        f(m_counters);
    }
    Counters counters() const;
    std::vector<NodeStatus> nodes() const;

    // GET /status: {"nodes":[...],"counters":{...}} with keys sorted, nodes in cluster order.
    std::string render_json() const;
    // GET /metrics: Prometheus text exposition format 0.0.4.
    std::string render_prometheus() const;

private:
    mutable std::mutex m_mutex;
    std::vector<NodeStatus> m_nodes;
    Counters m_counters;
};

// Phase after a file named `path` was served (complete or not) to a node in phase `current`.
Phase next_phase(Phase current, std::string_view path, bool complete);

// Answers one HTTP/1.0-style request (the bytes up to the blank line): 200 with JSON for
// GET /status, 200 text for GET /metrics, 404 otherwise, 405 for methods other than GET/HEAD.
std::string http_response(std::string_view request, const Registry& registry);

} // namespace uhs::netboot::status
