// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/fd.hpp"
#include "netboot/eeprom/report.hpp"
#include "netboot/status/status.hpp"
#include "netboot/tftp/supervisor.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace uhs::netboot {

// One status connection, driven by the event loop: never blocking it. A client that sends
// slowly or stops reading only holds its own slot until its deadline.
struct HttpClient {
    util::UniqueFd fd;
    std::string request;
    std::string response;
    std::size_t sent = 0;
    bool answering = false;
    tftp::Clock::time_point deadline;
};

constexpr std::size_t k_max_http_clients = 16;
constexpr std::chrono::milliseconds k_http_deadline{2000};

// Accepts what is waiting, up to the client limit (the rest wait in the backlog).
void accept_http_clients(int listen_fd, std::vector<HttpClient>& clients,
                         tftp::Clock::time_point now);

// Advances one client on readiness `revents` (poll's): reads its request, answers a
// bootloader report or GET /status and /metrics, writes the answer. Returns false when it is
// finished or failed.
bool step_http_client(HttpClient& c, short revents, const status::Registry& registry,
                      const eeprom::ReportEndpoint& reports);

} // namespace uhs::netboot
