// SPDX-License-Identifier: Apache-2.0
#include "netboot/logfmt.hpp"

#include <algorithm>

namespace uhs::netboot {

namespace {

bool plain(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '"' && c != '=' && c != '\\';
}

} // namespace

std::string logfmt_value(std::string_view v) {
    if (!v.empty() && std::all_of(v.begin(), v.end(), plain)) {
        return std::string(v);
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string q = "\"";
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            q.push_back('\\');
            q.push_back(c);
        } else if (u < 0x20 || u >= 0x7f) {
            q += "\\x";
            q.push_back(k_hex[u >> 4]);
            q.push_back(k_hex[u & 15]);
        } else {
            q.push_back(c);
        }
    }
    return q + "\"";
}

std::int64_t Logger::now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool LogRateLimit::allow(Clock::time_point now) {
    if (!m_started) {
        m_started = true;
        m_last = now;
    }
    const double elapsed = std::chrono::duration<double>(now - m_last).count();
    m_last = now;
    m_tokens = std::min(m_burst, m_tokens + elapsed * m_rate);
    if (m_tokens >= 1.0) {
        m_tokens -= 1.0;
        return true;
    }
    ++m_suppressed;
    return false;
}

} // namespace uhs::netboot
