// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/observer.hpp"

#include <charconv>

namespace uhs::netboot::tftp {

std::string normalise_path(std::string_view path) {
    std::string out;
    for (char c : path) {
        if (c == '/' && (out.empty() || out.back() == '/')) {
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::optional<TftpdLogLine> parse_tftpd_log(std::string_view d) {
    const auto tag = d.find("in.tftpd[");
    if (tag == std::string_view::npos) {
        return std::nullopt;
    }
    const auto pid_begin = tag + 9;
    const auto pid_end = d.find("]: ", pid_begin);
    if (pid_end == std::string_view::npos) {
        return std::nullopt;
    }
    TftpdLogLine line;
    int pid = 0;
    const auto [ptr, ec] = std::from_chars(d.data() + pid_begin, d.data() + pid_end, pid);
    if (ec != std::errc{} || ptr != d.data() + pid_end || pid <= 0) {
        return std::nullopt;
    }
    line.pid = pid;
    std::string_view msg = d.substr(pid_end + 3);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\0')) {
        msg.remove_suffix(1);
    }
    line.message = std::string(msg);
    constexpr std::string_view rrq = "RRQ from ";
    constexpr std::string_view filename = " filename ";
    if (msg.starts_with(rrq)) {
        const auto f = msg.find(filename);
        if (f == std::string_view::npos) {
            return line;
        }
        line.kind = TftpdLogLine::Kind::rrq;
        line.client = std::string(msg.substr(rrq.size(), f - rrq.size()));
        std::string_view name = msg.substr(f + filename.size());
        // With remap rules that changed the name: "a//b remapped to a/b".
        constexpr std::string_view remapped = " remapped to ";
        if (const auto r = name.find(remapped); r != std::string_view::npos) {
            name = name.substr(r + remapped.size());
        }
        line.path = normalise_path(name);
    } else if (msg.starts_with("sending NAK")) {
        line.kind = TftpdLogLine::Kind::nak;
        const auto to = msg.rfind(" to ");
        if (to != std::string_view::npos) {
            line.client = std::string(msg.substr(to + 4));
        }
    }
    return line;
}

void TransferTracker::on_log(const TftpdLogLine& line, std::int64_t unix_ms,
                             std::chrono::steady_clock::time_point now) {
    if (line.kind == TftpdLogLine::Kind::rrq) {
        m_active[line.pid] = Transfer{line.pid, line.client, line.path, unix_ms, now, false};
    } else if (line.kind == TftpdLogLine::Kind::nak) {
        if (auto it = m_active.find(line.pid); it != m_active.end()) {
            it->second.not_found = true;
        }
    }
}

} // namespace uhs::netboot::tftp
