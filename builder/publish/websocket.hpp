// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 6455 WebSocket: the opening handshake and the framing, without I/O. Debian 12's libcurl
// (7.88) is built without its WebSocket API (curl_ws_send answers CURLE_NOT_BUILT_IN), so the
// TrueNAS JSON-RPC client speaks the protocol itself over a libcurl CONNECT_ONLY TLS stream.

#include "builder/util/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uhs::publish::ws {

enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xa,
};

struct Frame {
    bool fin = true;
    Opcode opcode = Opcode::text;
    std::string payload; // unmasked
};

using MaskKey = std::array<std::uint8_t, 4>;

// Encodes one frame (RFC 6455 §5.2): 7-bit, 16-bit or 64-bit payload length as needed. A
// client masks every frame with `mask` (§5.3); a server passes nullopt.
std::string encode_frame(const Frame& frame, const std::optional<MaskKey>& mask);

// A fresh masking key from the system's CSPRNG (§5.3 asks for an unpredictable one).
MaskKey random_mask();

// Which side decodes: a client refuses masked frames, a server refuses unmasked ones (§5.1).
enum class Peer { client, server };

// Decodes frames from a byte stream fed in pieces of any size.
class FrameDecoder {
public:
    explicit FrameDecoder(Peer peer, std::uint64_t max_payload = 64ull << 20)
        : m_peer(peer), m_max_payload(max_payload) {}

    void feed(std::string_view bytes) { m_buffer.append(bytes); }

    // The next complete frame, nullopt when more bytes are needed, or an error
    // (Errc::integrity) for a protocol violation: reserved bits, a wrong mask bit, an
    // oversized or fragmented control frame, a 64-bit length with its top bit set, a payload
    // above the limit, an unknown opcode.
    util::Result<std::optional<Frame>> next();

    std::size_t buffered() const { return m_buffer.size(); }

private:
    Peer m_peer;
    std::uint64_t m_max_payload;
    std::string m_buffer;
};

// Joins data frames into messages (§5.4): a text/binary frame starts a message, continuation
// frames extend it, FIN ends it. Control frames may arrive between fragments and are handed
// back at once.
class MessageAssembler {
public:
    struct Message {
        Opcode opcode = Opcode::text; // text, binary, or a control opcode
        std::string payload;
    };

    explicit MessageAssembler(std::uint64_t max_message = 64ull << 20)
        : m_max_message(max_message) {}

    // Adds a frame; returns a complete message when one is ready. Fails (Errc::integrity) on a
    // continuation without a start, a new data frame inside a message, or a message too large.
    util::Result<std::optional<Message>> add(Frame frame);

private:
    std::uint64_t m_max_message;
    std::optional<Opcode> m_opcode; // the message being assembled
    std::string m_payload;
};

// A random 16-byte Sec-WebSocket-Key, base64 (§4.1).
std::string random_key();

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), the expected
// Sec-WebSocket-Accept (§4.2.2).
std::string accept_for_key(std::string_view key);

// The client's opening handshake: GET `path` HTTP/1.1 with Upgrade, Connection,
// Sec-WebSocket-Key and Sec-WebSocket-Version 13.
std::string handshake_request(std::string_view host_header, std::string_view path,
                              std::string_view key);

struct HandshakeResponse {
    int status = 0;
    std::string reason;
    std::size_t header_bytes = 0; // bytes up to and including the blank line
};

// Parses the server's answer once `bytes` holds the whole header block (nullopt until then).
// For a 101 it checks Upgrade: websocket, Connection: upgrade and the Accept value for `key`
// (Errc::integrity when wrong); any other status is returned for the caller to judge.
util::Result<std::optional<HandshakeResponse>> parse_handshake_response(std::string_view bytes,
                                                                        std::string_view key);

// Close frame payload: 2-byte status code (network order) then a UTF-8 reason (§5.5.1).
std::string close_payload(std::uint16_t code, std::string_view reason);

} // namespace uhs::publish::ws
