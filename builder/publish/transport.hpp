// SPDX-License-Identifier: Apache-2.0
#pragma once

// What both API generations ride on (inside builder/publish only): libcurl handles, the one
// place that turns a libcurl failure into a message the user can act on, the TLS settings,
// and the TLS byte stream the WebSocket client speaks over. And the two generations that
// connect() chooses between.

#include "builder/publish/client.hpp"
#include "builder/publish/secret.hpp"
#include "builder/util/result.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include <curl/curl.h>

namespace uhs::publish {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
using CurlErrorBuffer = std::array<char, CURL_ERROR_SIZE>;

// curl_global_init once, before the first handle (it is not thread-safe on 7.88).
void init_curl();

long to_ms(std::chrono::milliseconds d);

// One message per failure kind, so the user can tell a NAS that is down (refused) from one
// that is slow or filtered (timeout) from a certificate problem.
util::Error curl_error(CURLcode code, const char* detail, const ClientOptions& options,
                       std::string_view during);

// Verified TLS to the NAS over HTTP/1.1, with the connect timeout and --ca FILE.
void apply_tls(CURL* c, const ClientOptions& options, char* error_buffer);

// The backoff wait: options.sleep when set (tests), else the real clock.
void sleep_for(const ClientOptions& options, std::chrono::milliseconds wait);

// A TLS byte stream: libcurl connects (TCP + TLS, certificate checked) with CONNECT_ONLY and
// then moves raw bytes with curl_easy_send/recv; poll() on its socket gives the deadlines.
class TlsStream {
public:
    static util::Result<TlsStream> open(const ClientOptions& options);

    util::Status send_all(std::string_view data, Deadline deadline, std::string_view during);

    // Some bytes, or 0 when the peer closed the stream.
    util::Result<std::size_t> recv_some(char* buffer, std::size_t size, Deadline deadline,
                                        std::string_view during);

    // Bytes already there without waiting: nullopt when none, 0 when the peer closed.
    util::Result<std::optional<std::size_t>> try_recv(char* buffer, std::size_t size);

private:
    util::Status wait(short events, Deadline deadline, std::string_view during);

    Easy m_easy;
    curl_socket_t m_socket = CURL_SOCKET_BAD;
    const ClientOptions* m_options = nullptr;
    std::unique_ptr<CurlErrorBuffer> m_error = std::make_unique<CurlErrorBuffer>();
};

// JSON-RPC over wss://HOST/api/current, logged in. nullopt when the upgrade answers 404 (24.10
// has no such route); HTTP 5xx on the upgrade is retried with backoff (jsonrpc_api.cpp).
util::Result<std::optional<std::unique_ptr<Api>>> connect_jsonrpc(const ClientOptions& options,
                                                                  const Secret& api_key);

// REST v2.0, its key and route checked with system.info before anything changes
// (rest_api.cpp).
util::Result<std::unique_ptr<Api>> connect_rest(const ClientOptions& options,
                                                const Secret& api_key);

} // namespace uhs::publish
