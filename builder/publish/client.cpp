// SPDX-License-Identifier: Apache-2.0
#include "builder/publish/client.hpp"

#include "builder/publish/websocket.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>

#include <curl/curl.h>
#include <poll.h>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::Error;
using util::fail;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

std::string_view to_string(Generation generation) {
    return generation == Generation::jsonrpc ? "JSON-RPC 2.0 over WebSocket" : "REST v2.0";
}

std::string Endpoint::host_header() const {
    return port == 443 ? host : host + ":" + std::to_string(port);
}

std::string Endpoint::base_url() const {
    return "https://" + host_header();
}

util::Result<Endpoint> parse_endpoint(const std::string& text) {
    std::string rest = text;
    if (rest.starts_with("http://") || rest.starts_with("ws://")) {
        return fail(Errc::invalid_input, "refusing '", text,
                    "': the API key would travel in clear, and TrueNAS revokes keys that do; "
                    "use https://");
    }
    for (std::string_view scheme : {"https://", "wss://"}) {
        if (rest.starts_with(scheme)) {
            rest.erase(0, scheme.size());
        }
    }
    if (rest.find("://") != std::string::npos) {
        return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': only https:// is allowed");
    }
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    if (rest.empty() || rest.find('/') != std::string::npos) {
        return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': expected HOST[:PORT]");
    }
    Endpoint endpoint;
    endpoint.host = rest;
    if (const std::size_t colon = rest.rfind(':'); colon != std::string::npos) {
        const std::string port = rest.substr(colon + 1);
        char* end = nullptr;
        const long value = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || value < 1 || value > 65535) {
            return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': bad port '", port,
                        "'");
        }
        endpoint.host = rest.substr(0, colon);
        endpoint.port = static_cast<int>(value);
    }
    return endpoint;
}

// --- request building ---

std::string jsonrpc_request(std::uint64_t id, const std::string& method, const json& params) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
}

util::Result<json> jsonrpc_result(const json& reply, const std::string& method) {
    if (!reply.is_object()) {
        return fail(Errc::integrity, "TrueNAS answered ", method, " with a non-object");
    }
    if (auto result = reply.find("result"); result != reply.end()) {
        return *result;
    }
    auto error = reply.find("error");
    if (error == reply.end() || !error->is_object()) {
        return fail(Errc::integrity, "TrueNAS answered ", method, " with neither result nor error");
    }
    const std::string message = error->value("message", std::string("error"));
    std::string errname;
    std::string reason;
    if (auto data = error->find("data"); data != error->end() && data->is_object()) {
        errname = data->value("errname", std::string());
        reason = data->value("reason", std::string());
        if (auto extra = data->find("extra"); extra != data->end() && extra->is_array()) {
            // Validation errors: [[attribute, message, errno], ...]
            for (const json& item : *extra) {
                if (item.is_array() && item.size() >= 2 && item[0].is_string() &&
                    item[1].is_string()) {
                    reason += (reason.empty() ? "" : "; ") + item[0].get<std::string>() + ": " +
                              item[1].get<std::string>();
                }
            }
        }
    }
    Errc code = Errc::failed;
    if (errname == "ENOENT") {
        code = Errc::not_found;
    } else if (errname == "ENOTAUTHENTICATED" || errname == "EACCES" || errname == "EPERM") {
        code = Errc::refused;
    }
    std::string text = "TrueNAS: " + method + ": " + (reason.empty() ? message : reason);
    if (!errname.empty()) {
        text += " (" + errname + ")";
    }
    return std::unexpected(Error{std::move(text), code});
}

std::string url_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(k_hex[c >> 4]);
            out.push_back(k_hex[c & 0xf]);
        }
    }
    return out;
}

namespace {

std::string id_text(const json& id) {
    return id.is_string() ? id.get<std::string>() : id.dump();
}

} // namespace

util::Result<RestRequest> rest_request(const std::string& method, const json& params) {
    if (!params.is_array()) {
        return fail(Errc::invalid_input, method, ": params must be an array");
    }
    const std::size_t dot = method.rfind('.');
    if (dot == std::string::npos) {
        return fail(Errc::invalid_input, "no REST route for '", method, "'");
    }
    std::string ns = method.substr(0, dot);
    const std::string verb = method.substr(dot + 1);
    for (char& c : ns) {
        if (c == '.') {
            c = '/';
        }
    }
    const std::string base = "/api/v2.0/" + ns;
    if (method == "system.info" || method == "system.version") {
        return RestRequest{"GET", "/api/v2.0/system/" + verb, ""};
    }
    if (verb == "query") {
        std::string query;
        if (!params.empty()) {
            for (const json& filter : params[0]) {
                if (!filter.is_array() || filter.size() != 3 || filter[1] != "=" ||
                    !filter[0].is_string()) {
                    return fail(Errc::invalid_input, method,
                                ": REST queries take [field, \"=\", value] filters only");
                }
                query += (query.empty() ? "?" : "&") + url_encode(filter[0].get<std::string>()) +
                         "=" + url_encode(id_text(filter[2]));
            }
        }
        return RestRequest{"GET", base + query, ""};
    }
    if (verb == "create") {
        if (params.size() != 1) {
            return fail(Errc::invalid_input, method, ": expects [body]");
        }
        return RestRequest{"POST", base, params[0].dump()};
    }
    if (verb == "update") {
        if (params.size() != 2) {
            return fail(Errc::invalid_input, method, ": expects [id, body]");
        }
        return RestRequest{"PUT", base + "/id/" + url_encode(id_text(params[0])), params[1].dump()};
    }
    if (verb == "delete") {
        if (params.empty() || params.size() > 2) {
            return fail(Errc::invalid_input, method, ": expects [id, options?]");
        }
        return RestRequest{"DELETE", base + "/id/" + url_encode(id_text(params[0])),
                           params.size() == 2 ? params[1].dump() : ""};
    }
    return fail(Errc::invalid_input, "no REST route for '", method, "'");
}

util::Result<json> rest_result(long status, const std::string& body, const std::string& method) {
    json parsed = json::parse(body, nullptr, false);
    if (status >= 200 && status < 300) {
        if (body.empty()) {
            return json(nullptr);
        }
        if (parsed.is_discarded()) {
            return fail(Errc::integrity, "TrueNAS answered ", method, " with invalid JSON");
        }
        return parsed;
    }
    std::string detail;
    if (parsed.is_object()) {
        for (const auto& [field, value] : parsed.items()) {
            if (value.is_array()) {
                for (const json& item : value) {
                    if (item.is_object() && item.contains("message")) {
                        detail += (detail.empty() ? "" : "; ") + field + ": " +
                                  item["message"].get<std::string>();
                    }
                }
            } else if (field == "message" && value.is_string()) {
                detail += (detail.empty() ? "" : "; ") + value.get<std::string>();
            }
        }
    }
    const std::string prefix = "TrueNAS: " + method + ": HTTP " + std::to_string(status);
    if (status == 401 || status == 403) {
        return fail(Errc::refused, prefix, ": the API key was rejected");
    }
    if (detail.empty()) {
        // The first line of a plain-text body ("404: Not Found"), bounded.
        detail = body.substr(0, std::min(body.find('\n'), std::size_t{200}));
    }
    return fail(status == 404 ? Errc::not_found : Errc::failed, prefix, detail.empty() ? "" : ": ",
                detail);
}

// --- transport ---

namespace {

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init once, before the first handle (it is not thread-safe on 7.88).
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

// One message per failure kind, so the user can tell a NAS that is down (refused) from one
// that is slow or filtered (timeout) from a certificate problem.
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

// A TLS byte stream: libcurl connects (TCP + TLS, certificate checked) with CONNECT_ONLY and
// then moves raw bytes with curl_easy_send/recv; poll() on its socket gives the deadlines.
class TlsStream {
public:
    static util::Result<TlsStream> open(const ClientOptions& options) {
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

    util::Status send_all(std::string_view data, Deadline deadline, std::string_view during) {
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

    // Some bytes, or 0 when the peer closed the stream.
    util::Result<std::size_t> recv_some(char* buffer, std::size_t size, Deadline deadline,
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

    // Bytes already there without waiting: nullopt when none, 0 when the peer closed.
    util::Result<std::optional<std::size_t>> try_recv(char* buffer, std::size_t size) {
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

private:
    util::Status wait(short events, Deadline deadline, std::string_view during) {
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

    Easy m_easy;
    curl_socket_t m_socket = CURL_SOCKET_BAD;
    const ClientOptions* m_options = nullptr;
    std::unique_ptr<std::array<char, CURL_ERROR_SIZE>> m_error =
        std::make_unique<std::array<char, CURL_ERROR_SIZE>>();
};

// The outcome of a WebSocket opening handshake.
struct Upgrade {
    int status = 0; // 101 when the WebSocket is open
    std::string reason;
};

class WebSocket {
public:
    explicit WebSocket(TlsStream stream, const ClientOptions& options)
        : m_stream(std::move(stream)), m_options(&options) {}
    WebSocket(WebSocket&& other) noexcept
        : m_stream(std::move(other.m_stream)), m_options(other.m_options),
          m_decoder(std::move(other.m_decoder)), m_assembler(std::move(other.m_assembler)),
          m_open(std::exchange(other.m_open, false)) {}
    WebSocket& operator=(WebSocket&&) = delete;
    WebSocket(const WebSocket&) = delete;

    ~WebSocket() {
        if (m_open) {
            // A polite close (1000), bounded to a short wait; the TLS stream closes anyway.
            const std::string frame = ws::encode_frame(
                {true, ws::Opcode::close, ws::close_payload(1000, "")}, ws::random_mask());
            (void)m_stream.send_all(frame, Clock::now() + std::chrono::milliseconds(500),
                                    "while closing");
        }
    }

    util::Result<Upgrade> handshake(std::string_view path) {
        const std::string key = ws::random_key();
        const Deadline deadline = Clock::now() + m_options->call_timeout;
        UHS_CHECK(
            m_stream.send_all(ws::handshake_request(m_options->endpoint.host_header(), path, key),
                              deadline, "during the WebSocket handshake"));
        std::string bytes;
        char buffer[4096];
        for (;;) {
            auto parsed = UHS_TRY(ws::parse_handshake_response(bytes, key));
            if (parsed) {
                if (parsed->status == 101) {
                    m_decoder.feed(std::string_view(bytes).substr(parsed->header_bytes));
                    m_open = true;
                }
                return Upgrade{parsed->status, parsed->reason};
            }
            const std::size_t got = UHS_TRY(m_stream.recv_some(buffer, sizeof buffer, deadline,
                                                               "during the WebSocket handshake"));
            if (got == 0) {
                return fail(Errc::io, "TrueNAS ", m_options->endpoint.host_header(),
                            ": the connection was closed during the WebSocket handshake");
            }
            bytes.append(buffer, got);
        }
    }

    util::Status send_text(const std::string& text, Deadline deadline, std::string_view during) {
        return m_stream.send_all(
            ws::encode_frame({true, ws::Opcode::text, text}, ws::random_mask()), deadline, during);
    }

    // Handles what arrived while nobody was reading (between calls, e.g. during a long rootfs
    // extraction): answers pings, drops notifications. Returns false when the server closed
    // the connection meanwhile (a close frame or EOF), so the caller can open a new one before
    // sending anything.
    util::Result<bool> drain() {
        char buffer[16384];
        const Deadline deadline = Clock::now() + std::chrono::milliseconds(500);
        for (;;) {
            auto frame = m_decoder.next();
            if (!frame) {
                return false;
            }
            if (!*frame) {
                auto got = UHS_TRY(m_stream.try_recv(buffer, sizeof buffer));
                if (!got) {
                    return m_open;
                }
                if (*got == 0) {
                    m_open = false;
                    return false;
                }
                m_decoder.feed(std::string_view(buffer, *got));
                continue;
            }
            auto message = m_assembler.add(std::move(**frame));
            if (!message) {
                return false;
            }
            if (!*message) {
                continue;
            }
            if ((*message)->opcode == ws::Opcode::ping) {
                UHS_CHECK(m_stream.send_all(
                    ws::encode_frame({true, ws::Opcode::pong, (*message)->payload},
                                     ws::random_mask()),
                    deadline, "answering a ping"));
            } else if ((*message)->opcode == ws::Opcode::close) {
                (void)m_stream.send_all(
                    ws::encode_frame({true, ws::Opcode::close, (*message)->payload.substr(0, 2)},
                                     ws::random_mask()),
                    deadline, "closing");
                m_open = false;
                return false;
            }
        }
    }

    // The next text message; answers pings, and turns a close into an error.
    util::Result<std::string> recv_text(Deadline deadline, std::string_view during) {
        char buffer[16384];
        for (;;) {
            auto frame = UHS_TRY(m_decoder.next());
            if (!frame) {
                const std::size_t got =
                    UHS_TRY(m_stream.recv_some(buffer, sizeof buffer, deadline, during));
                if (got == 0) {
                    m_open = false;
                    return fail(Errc::io, "TrueNAS ", m_options->endpoint.host_header(),
                                ": the connection was closed ", during);
                }
                m_decoder.feed(std::string_view(buffer, got));
                continue;
            }
            auto message = UHS_TRY(m_assembler.add(std::move(*frame)));
            if (!message) {
                continue;
            }
            switch (message->opcode) {
            case ws::Opcode::ping:
                UHS_CHECK(m_stream.send_all(
                    ws::encode_frame({true, ws::Opcode::pong, message->payload}, ws::random_mask()),
                    deadline, during));
                break;
            case ws::Opcode::pong:
                break;
            case ws::Opcode::close: {
                // Echo the close (§5.5.1), then report it.
                (void)m_stream.send_all(
                    ws::encode_frame({true, ws::Opcode::close, message->payload.substr(0, 2)},
                                     ws::random_mask()),
                    deadline, during);
                m_open = false;
                std::string code = "no status";
                if (message->payload.size() >= 2) {
                    code = std::to_string((static_cast<std::uint8_t>(message->payload[0]) << 8) |
                                          static_cast<std::uint8_t>(message->payload[1]));
                }
                return fail(Errc::io, "TrueNAS ", m_options->endpoint.host_header(),
                            ": the server closed the WebSocket (", code, ") ", during);
            }
            case ws::Opcode::text:
                return std::move(message->payload);
            default:
                return fail(Errc::integrity, "TrueNAS sent a binary WebSocket message ", during);
            }
        }
    }

private:
    TlsStream m_stream;
    const ClientOptions* m_options;
    ws::FrameDecoder m_decoder{ws::Peer::client};
    ws::MessageAssembler m_assembler;
    bool m_open = false;
};

// Opens wss://HOST/api/current: the upgrade's status and, on 101, the socket.
struct OpenedSocket {
    Upgrade upgrade;
    std::optional<WebSocket> socket;
};

util::Result<OpenedSocket> open_websocket(const ClientOptions& options) {
    TlsStream stream = UHS_TRY(TlsStream::open(options));
    WebSocket socket(std::move(stream), options);
    const Upgrade upgrade = UHS_TRY(socket.handshake("/api/current"));
    OpenedSocket opened{upgrade, std::nullopt};
    if (upgrade.status == 101) {
        opened.socket.emplace(std::move(socket));
    }
    return opened;
}

class JsonRpcApi final : public Api {
public:
    JsonRpcApi(const ClientOptions& options, const Secret& api_key)
        : m_options(options), m_key(api_key) {}

    // Logs in on `socket` (already upgraded with this object's options).
    util::Status start(WebSocket socket) {
        m_socket.emplace(std::move(socket));
        return login();
    }

    util::Result<json> call(const std::string& method, const json& params) override {
        // A connection the server closed while we were not reading is replaced before the
        // call is sent, so nothing is sent twice. Bounded (per call), so a NAS that drops every
        // session is reported rather than chased.
        for (int tries = 0; !UHS_TRY(m_socket->drain()); ++tries) {
            if (tries == k_max_reconnects) {
                return fail(Errc::io, "TrueNAS ", m_options.endpoint.host_header(),
                            ": the server keeps closing the WebSocket (", method, ")");
            }
            UHS_CHECK(reconnect());
        }
        return send_and_wait(method, params);
    }

    Generation generation() const override { return Generation::jsonrpc; }

    const ClientOptions& options() const { return m_options; }

private:
    static constexpr int k_max_reconnects = 3;

    util::Status login() {
        const json ok =
            UHS_TRY(send_and_wait("auth.login_with_api_key", json::array({m_key.reveal()})));
        if (ok != true) {
            return fail(Errc::refused, "TrueNAS ", m_options.endpoint.host_header(),
                        ": the API key was rejected (auth.login_with_api_key)");
        }
        return {};
    }

    util::Status reconnect() {
        m_socket.reset();
        OpenedSocket opened = UHS_TRY(open_websocket(m_options));
        if (!opened.socket) {
            return fail(Errc::io, "TrueNAS ", m_options.endpoint.host_header(),
                        ": reconnecting, the WebSocket upgrade answered HTTP ",
                        std::to_string(opened.upgrade.status));
        }
        m_socket.emplace(std::move(*opened.socket));
        return login();
    }

    util::Result<json> send_and_wait(const std::string& method, const json& params) {
        const std::uint64_t id = ++m_next_id;
        const Deadline deadline = Clock::now() + m_options.call_timeout;
        const std::string during = "during " + method;
        UHS_CHECK(
            with_hint(m_socket->send_text(jsonrpc_request(id, method, params), deadline, during)));
        // Notifications (job progress, events) may come first; skip them until our reply.
        for (;;) {
            const std::string text = UHS_TRY(with_hint(m_socket->recv_text(deadline, during)));
            json reply = json::parse(text, nullptr, false);
            if (reply.is_discarded()) {
                return fail(Errc::integrity, "TrueNAS sent invalid JSON ", during);
            }
            if (reply.contains("id") && reply["id"] == id) {
                return jsonrpc_result(reply, method);
            }
        }
    }

    template <class T> util::Result<T> with_hint(util::Result<T> result) {
        if (!result && result.error().code == Errc::io) {
            result.error().message += " (the call may or may not have taken effect; publish "
                                      "checks before it changes anything, so run it again)";
        }
        return result;
    }
    util::Status with_hint(util::Status status) {
        if (!status && status.error().code == Errc::io) {
            status.error().message += " (run it again)";
        }
        return status;
    }

    ClientOptions m_options; // the sockets point at this copy: the object is never moved
    Secret m_key;
    std::optional<WebSocket> m_socket;
    std::uint64_t m_next_id = 0;
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

class RestApi final : public Api {
public:
    static util::Result<std::unique_ptr<RestApi>> create(const ClientOptions& options,
                                                         const Secret& api_key) {
        init_curl();
        auto api = std::unique_ptr<RestApi>(new RestApi(options));
        api->m_easy.reset(curl_easy_init());
        if (!api->m_easy) {
            return fail(Errc::failed, "curl_easy_init failed");
        }
        CURL* c = api->m_easy.get();
        apply_tls(c, options, api->m_error->data());
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(options.call_timeout));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
        // The key lives only in this header list and is never logged (no CURLOPT_VERBOSE).
        const std::string auth = "Authorization: Bearer " + api_key.reveal();
        curl_slist* list = curl_slist_append(nullptr, auth.c_str());
        list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Accept: application/json");
        api->m_headers.reset(list);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        return api;
    }

    util::Result<json> call(const std::string& method, const json& params) override {
        const RestRequest request = UHS_TRY(rest_request(method, params));
        CURL* c = m_easy.get();
        const std::string url = m_options.endpoint.base_url() + request.path;
        std::chrono::milliseconds backoff = m_options.backoff;
        for (int attempt = 1;; ++attempt) {
            std::string body;
            (*m_error)[0] = '\0';
            curl_easy_setopt(c, CURLOPT_URL, url.c_str());
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
            if (request.verb == "GET") {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
            } else {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                                 request.verb == "POST" ? nullptr : request.verb.c_str());
            }
            // libcurl itself resends a request once when a reused keep-alive connection turns
            // out dead before any answer byte; publish tolerates that because each step asks
            // first and a duplicate create fails visibly ("already exists") instead of doubling.
            const CURLcode code = curl_easy_perform(c);
            if (code != CURLE_OK) {
                Error error = curl_error(code, m_error->data(), m_options, "during " + method);
                if (error.code == Errc::io) {
                    error.message += " (the call may or may not have taken effect; publish "
                                     "checks before it changes anything, so run it again)";
                }
                return std::unexpected(std::move(error));
            }
            long status = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 500 && attempt < m_options.attempts) {
                sleep_for(m_options, backoff);
                backoff *= 2;
                continue;
            }
            auto result = rest_result(status, body, method);
            if (!result && status >= 500) {
                result.error().message += " (after " + std::to_string(attempt) + " attempts)";
            }
            return result;
        }
    }

    Generation generation() const override { return Generation::rest; }

private:
    explicit RestApi(const ClientOptions& options) : m_options(options) {}
    ClientOptions m_options;
    Easy m_easy;
    Slist m_headers;
    std::unique_ptr<std::array<char, CURL_ERROR_SIZE>> m_error =
        std::make_unique<std::array<char, CURL_ERROR_SIZE>>();
};

} // namespace

util::Result<std::unique_ptr<Api>> connect(const ClientOptions& options, const Secret& api_key) {
    const std::string where = options.endpoint.host_header();
    std::chrono::milliseconds backoff = options.backoff;
    for (int attempt = 1;; ++attempt) {
        auto api = std::make_unique<JsonRpcApi>(options, api_key);
        OpenedSocket opened = UHS_TRY(open_websocket(api->options()));
        const Upgrade upgrade = opened.upgrade;
        if (opened.socket) {
            UHS_CHECK(api->start(std::move(*opened.socket)));
            return std::unique_ptr<Api>(std::move(api));
        }
        if (upgrade.status == 404) {
            break; // 24.10: no JSON-RPC route; REST v2.0 below
        }
        if (upgrade.status >= 500 && attempt < options.attempts) {
            sleep_for(options, backoff);
            backoff *= 2;
            continue;
        }
        return fail(upgrade.status >= 500 ? Errc::failed : Errc::refused, "TrueNAS ", where,
                    ": the WebSocket upgrade on /api/current answered HTTP ",
                    std::to_string(upgrade.status), " ", upgrade.reason,
                    upgrade.status >= 500 ? " (after " + std::to_string(attempt) + " attempts)"
                                          : std::string());
    }
    auto api = UHS_TRY(RestApi::create(options, api_key));
    // Checks the key and the route before anything changes.
    const json info = UHS_TRY(api->call("system.info", json::array()));
    (void)info;
    return std::unique_ptr<Api>(std::move(api));
}

} // namespace uhs::publish
