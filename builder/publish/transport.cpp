// SPDX-License-Identifier: Apache-2.0
#include "builder/publish/transport.hpp"

#include <cerrno>
#include <cstring>
#include <thread>

#include <poll.h>

namespace uhs::publish {

using util::Errc;
using util::Error;
using util::fail;

void init_curl() {
    static const bool initialised = [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }();
    (void)initialised;
}

long to_ms(std::chrono::milliseconds d) {
    return static_cast<long>(d.count());
}

Error curl_error(CURLcode code, const char* detail, const ClientOptions& options,
                 std::string_view during) {
    const std::string where = options.endpoint.host_header();
    std::string text(detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code));
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        return Error{"TrueNAS " + where + ": connection refused (" + text + ")", Errc::refused};
    case CURLE_OPERATION_TIMEDOUT:
        return Error{"TrueNAS " + where + ": timed out " + std::string(during) + " (" + text + ")",
                     Errc::timeout};
    case CURLE_COULDNT_RESOLVE_HOST:
        return Error{"TrueNAS " + where + ": cannot resolve the host name", Errc::not_found};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        return Error{"TrueNAS " + where + ": TLS failed (" + text +
                         "); for a self-signed NAS certificate pass --ca FILE or set "
                         "UHS_TRUENAS_CA",
                     Errc::refused};
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return Error{"TrueNAS " + where + ": the connection was closed " + std::string(during) +
                         " (" + text + ")",
                     Errc::io};
    default:
        return Error{"TrueNAS " + where + ": " + text + " " + std::string(during), Errc::io};
    }
}

void apply_tls(CURL* c, const ClientOptions& options, char* error_buffer) {
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(options.connect_timeout));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    // nginx may pick HTTP/2 by ALPN, and a WebSocket upgrade needs HTTP/1.1 (§5.2).
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "uhs-image");
    if (options.ca_file) {
        curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file->c_str());
    }
}

void sleep_for(const ClientOptions& options, std::chrono::milliseconds wait) {
    if (options.sleep) {
        options.sleep(wait);
    } else {
        std::this_thread::sleep_for(wait);
    }
}

util::Result<TlsStream> TlsStream::open(const ClientOptions& options) {
    init_curl();
    TlsStream stream;
    stream.m_options = &options;
    stream.m_easy.reset(curl_easy_init());
    if (!stream.m_easy) {
        return fail(Errc::failed, "curl_easy_init failed");
    }
    CURL* c = stream.m_easy.get();
    apply_tls(c, options, stream.m_error->data());
    const std::string url = options.endpoint.base_url() + "/";
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    if (CURLcode code = curl_easy_perform(c); code != CURLE_OK) {
        return std::unexpected(
            curl_error(code, stream.m_error->data(), options, "while connecting"));
    }
    curl_socket_t socket = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &socket) != CURLE_OK ||
        socket == CURL_SOCKET_BAD) {
        return fail(Errc::io, "TrueNAS ", options.endpoint.host_header(),
                    ": no socket after connecting");
    }
    stream.m_socket = socket;
    return stream;
}

util::Status TlsStream::send_all(std::string_view data, Deadline deadline,
                                 std::string_view during) {
    while (!data.empty()) {
        std::size_t sent = 0;
        const CURLcode code = curl_easy_send(m_easy.get(), data.data(), data.size(), &sent);
        if (code == CURLE_AGAIN) {
            UHS_CHECK(wait(POLLOUT, deadline, during));
            continue;
        }
        if (code != CURLE_OK) {
            return std::unexpected(curl_error(code, m_error->data(), *m_options, during));
        }
        data.remove_prefix(sent);
    }
    return {};
}

util::Result<std::size_t> TlsStream::recv_some(char* buffer, std::size_t size, Deadline deadline,
                                               std::string_view during) {
    for (;;) {
        std::size_t got = 0;
        const CURLcode code = curl_easy_recv(m_easy.get(), buffer, size, &got);
        if (code == CURLE_OK) {
            return got;
        }
        if (code != CURLE_AGAIN) {
            // OpenSSL 3 reports a peer that vanished without close_notify as a read error.
            return std::unexpected(curl_error(CURLE_RECV_ERROR, "", *m_options, during));
        }
        UHS_CHECK(wait(POLLIN, deadline, during));
    }
}

util::Result<std::optional<std::size_t>> TlsStream::try_recv(char* buffer, std::size_t size) {
    std::size_t got = 0;
    const CURLcode code = curl_easy_recv(m_easy.get(), buffer, size, &got);
    if (code == CURLE_AGAIN) {
        return std::optional<std::size_t>();
    }
    if (code != CURLE_OK) {
        return std::optional<std::size_t>(0);
    }
    return std::optional<std::size_t>(got);
}

util::Status TlsStream::wait(short events, Deadline deadline, std::string_view during) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return fail(Errc::timeout, "TrueNAS ", m_options->endpoint.host_header(),
                        ": timed out ", during, " (no answer within ",
                        std::to_string(m_options->call_timeout.count()), " ms)");
        }
        pollfd pfd{static_cast<int>(m_socket), events, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return {};
        }
        if (n < 0 && errno != EINTR) {
            return fail(Errc::io, "poll: ", std::strerror(errno));
        }
    }
}

} // namespace uhs::publish
