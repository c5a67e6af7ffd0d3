// SPDX-License-Identifier: Apache-2.0
// The 25.04+ generation: JSON-RPC 2.0 over a WebSocket the client speaks itself (websocket.hpp)
// on a libcurl TLS stream (transport.hpp), with the session's pings, notifications, closes and
// reconnects.
#include "builder/publish/transport.hpp"
#include "builder/publish/websocket.hpp"

#include <optional>
#include <utility>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::fail;

namespace {

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

} // namespace

util::Result<std::optional<std::unique_ptr<Api>>> connect_jsonrpc(const ClientOptions& options,
                                                                  const Secret& api_key) {
    const std::string where = options.endpoint.host_header();
    std::chrono::milliseconds backoff = options.backoff;
    for (int attempt = 1;; ++attempt) {
        auto api = std::make_unique<JsonRpcApi>(options, api_key);
        OpenedSocket opened = UHS_TRY(open_websocket(api->options()));
        const Upgrade upgrade = opened.upgrade;
        if (opened.socket) {
            UHS_CHECK(api->start(std::move(*opened.socket)));
            return std::optional<std::unique_ptr<Api>>(std::move(api));
        }
        if (upgrade.status == 404) {
            return std::optional<std::unique_ptr<Api>>(); // 24.10: no JSON-RPC route
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
}

} // namespace uhs::publish
