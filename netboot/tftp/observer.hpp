// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace uhs::netboot::tftp {

// What in.tftpd said in one syslog datagram. in.tftpd 5.2 forks a child per request, chroots,
// then logs to /dev/log inside the chroot: the daemon owns that socket and so sees every RRQ.
struct TftpdLogLine {
    enum class Kind { rrq, nak, other };
    Kind kind = Kind::other;
    pid_t pid = 0;       // the transfer process
    std::string client;  // "10.77.0.50"
    std::string path;    // as requested, repeated slashes collapsed
    std::string message; // the text after "in.tftpd[PID]: "
};

// Parses "<29>Nov 24 08:57:50 in.tftpd[23033]: RRQ from 127.0.0.1 filename a//b" and
// "... sending NAK (1, File not found) to 127.0.0.1". Returns nullopt when it is not in.tftpd's.
std::optional<TftpdLogLine> parse_tftpd_log(std::string_view datagram);

// Collapses repeated slashes and drops a leading one, as the remap rules do.
std::string normalise_path(std::string_view path);

// A transfer seen starting and, later, its process gone.
struct Transfer {
    pid_t pid = 0;
    std::string client;
    std::string path;
    std::int64_t started_unix_ms = 0;
    std::chrono::steady_clock::time_point started{};
    bool not_found = false;
};

// Tracks transfers from RRQ to the exit of their process. `alive` is the seam that says
// whether a pid still runs (kill(pid, 0) in the daemon).
class TransferTracker {
public:
    // Feeds one parsed log line.
    void on_log(const TftpdLogLine& line, std::int64_t unix_ms,
                std::chrono::steady_clock::time_point now);
    // Returns the transfers whose process has exited since the last call, with durations.
    template <class Alive>
    std::vector<std::pair<Transfer, std::chrono::milliseconds>>
    finished(std::chrono::steady_clock::time_point now, Alive&& alive) {
        std::vector<std::pair<Transfer, std::chrono::milliseconds>> done;
        for (auto it = m_active.begin(); it != m_active.end();) {
            if (!alive(it->first)) {
                done.emplace_back(it->second, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  now - it->second.started));
                it = m_active.erase(it);
            } else {
                ++it;
            }
        }
        return done;
    }
    bool active() const { return !m_active.empty(); }

private:
    std::map<pid_t, Transfer> m_active;
};

} // namespace uhs::netboot::tftp
