// SPDX-License-Identifier: Apache-2.0
#include "netboot/http_clients.hpp"

#include "netboot/logfmt.hpp"

#include <cerrno>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

namespace uhs::netboot {

void accept_http_clients(int listen_fd, std::vector<HttpClient>& clients,
                         tftp::Clock::time_point now) {
    while (clients.size() < k_max_http_clients) {
        util::UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) {
            return;
        }
        clients.push_back(HttpClient{std::move(fd), {}, {}, 0, false, now + k_http_deadline});
    }
}

bool step_http_client(HttpClient& c, short revents, const status::Registry& registry,
                      const eeprom::ReportEndpoint& reports) {
    if (revents & (POLLERR | POLLNVAL)) {
        return false;
    }
    if (!c.answering && (revents & (POLLIN | POLLHUP))) {
        char buf[2048];
        const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c.request.append(buf, static_cast<std::size_t>(n));
        if (n == 0 || eeprom::ReportEndpoint::complete(c.request) || c.request.size() >= 8192) {
            sockaddr_in peer{};
            socklen_t peer_len = sizeof peer;
            ::getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len);
            auto report = reports.answer(c.request, ntohl(peer.sin_addr.s_addr),
                                         Logger::now_unix_ms() / 1000);
            c.response = report ? std::move(*report) : status::http_response(c.request, registry);
            c.answering = true;
        }
        return true;
    }
    if (c.answering && (revents & POLLOUT)) {
        const ssize_t n = ::send(c.fd.get(), c.response.data() + c.sent, c.response.size() - c.sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c.sent += static_cast<std::size_t>(n);
        return c.sent < c.response.size();
    }
    return !(revents & POLLHUP);
}

} // namespace uhs::netboot
