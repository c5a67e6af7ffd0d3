// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace uhs::netboot {

// A logfmt value: as it is when it is non-empty printable ASCII without space, '"', '=' or
// '\'; else quoted with '"' and '\' escaped and every byte outside printable ASCII written as
// \xNN. Values come from the network (TFTP file names, in.tftpd messages): none can forge a
// second line or a terminal escape.
std::string logfmt_value(std::string_view value);

// One logfmt line per call: "ts=<unix ms> level=info event=offer node=n1 ...".
class Logger {
public:
    explicit Logger(std::ostream& out) : m_out(out) {}
    template <class... Kv>
    void operator()(std::string_view level, std::string_view event, const Kv&... kv) {
        std::string line = "ts=" + std::to_string(now_unix_ms()) + " level=" + std::string(level) +
                           " event=" + std::string(event);
        append(line, kv...);
        m_out << line << '\n' << std::flush;
    }

    // The wall clock in milliseconds since the epoch: what every line's ts= and the
    // daemon's records carry.
    static std::int64_t now_unix_ms();

private:
    static void append(std::string&) {}
    template <class V, class... Rest>
    static void append(std::string& line, std::string_view key, const V& value,
                       const Rest&... rest) {
        line += ' ';
        line += key;
        line += '=';
        if constexpr (std::is_arithmetic_v<V>) {
            line += std::to_string(value);
        } else {
            line += logfmt_value(std::string_view(value));
        }
        append(line, rest...);
    }
    std::ostream& m_out;
};

// A token bucket for log lines one remote peer can cause (one per packet): `burst` lines at
// once, then `per_second`. Dropped lines are counted so the next allowed one can say so.
class LogRateLimit {
public:
    using Clock = std::chrono::steady_clock;
    LogRateLimit(double per_second, double burst)
        : m_rate(per_second), m_burst(burst), m_tokens(burst) {}
    // Whether a line may be written at `now`.
    bool allow(Clock::time_point now);
    // Lines refused since the last allowed one (reset by reading).
    std::uint64_t take_suppressed() { return std::exchange(m_suppressed, 0); }

private:
    double m_rate;
    double m_burst;
    double m_tokens;
    Clock::time_point m_last{};
    bool m_started = false;
    std::uint64_t m_suppressed = 0;
};

} // namespace uhs::netboot
