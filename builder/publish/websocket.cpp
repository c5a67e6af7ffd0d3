// SPDX-License-Identifier: Apache-2.0
#include "builder/publish/websocket.hpp"

#include "builder/util/strings.hpp"

#include <stdexcept>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace uhs::publish::ws {

using util::Errc;
using util::fail;

namespace {

constexpr std::string_view k_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_control(Opcode op) {
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

bool is_known(std::uint8_t op) {
    return op == 0x0 || op == 0x1 || op == 0x2 || op == 0x8 || op == 0x9 || op == 0xa;
}

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

void random_bytes(unsigned char* out, int size) {
    if (RAND_bytes(out, size) != 1) {
        // No entropy means no safe masking key; nothing sensible can continue.
        throw std::runtime_error("RAND_bytes failed");
    }
}

} // namespace

std::string encode_frame(const Frame& frame, const std::optional<MaskKey>& mask) {
    std::string out;
    const std::uint64_t size = frame.payload.size();
    out.push_back(
        static_cast<char>((frame.fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(frame.opcode)));
    const std::uint8_t mask_bit = mask ? 0x80 : 0x00;
    if (size < 126) {
        out.push_back(static_cast<char>(mask_bit | size));
    } else if (size <= 0xffff) {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size & 0xff));
    } else {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((size >> shift) & 0xff));
        }
    }
    if (!mask) {
        out.append(frame.payload);
        return out;
    }
    out.append(reinterpret_cast<const char*>(mask->data()), mask->size());
    const std::size_t start = out.size();
    out.append(frame.payload);
    for (std::size_t i = 0; i < frame.payload.size(); ++i) {
        out[start + i] =
            static_cast<char>(static_cast<std::uint8_t>(out[start + i]) ^ (*mask)[i % 4]);
    }
    return out;
}

MaskKey random_mask() {
    MaskKey key{};
    random_bytes(key.data(), static_cast<int>(key.size()));
    return key;
}

util::Result<std::optional<Frame>> FrameDecoder::next() {
    const auto* b = reinterpret_cast<const std::uint8_t*>(m_buffer.data());
    const std::size_t have = m_buffer.size();
    if (have < 2) {
        return std::nullopt;
    }
    const bool fin = (b[0] & 0x80) != 0;
    if ((b[0] & 0x70) != 0) {
        return fail(Errc::integrity, "websocket: reserved bits set (no extension was agreed)");
    }
    const std::uint8_t op = b[0] & 0x0f;
    if (!is_known(op)) {
        return fail(Errc::integrity, "websocket: unknown opcode ", std::to_string(op));
    }
    const bool masked = (b[1] & 0x80) != 0;
    if (m_peer == Peer::client && masked) {
        return fail(Errc::integrity, "websocket: the server sent a masked frame");
    }
    if (m_peer == Peer::server && !masked) {
        return fail(Errc::integrity, "websocket: the client sent an unmasked frame");
    }
    std::uint64_t size = b[1] & 0x7f;
    std::size_t pos = 2;
    if (size == 126) {
        if (have < 4) {
            return std::nullopt;
        }
        size = (std::uint64_t{b[2]} << 8) | b[3];
        pos = 4;
    } else if (size == 127) {
        if (have < 10) {
            return std::nullopt;
        }
        size = 0;
        for (int i = 0; i < 8; ++i) {
            size = (size << 8) | b[2 + i];
        }
        if ((size >> 63) != 0) {
            return fail(Errc::integrity, "websocket: 64-bit length with the top bit set");
        }
        pos = 10;
    }
    if (is_control(static_cast<Opcode>(op)) && (size > 125 || !fin)) {
        return fail(Errc::integrity, "websocket: control frame fragmented or over 125 bytes");
    }
    if (size > m_max_payload) {
        return fail(Errc::integrity, "websocket: frame of ", std::to_string(size),
                    " bytes is over the limit of ", std::to_string(m_max_payload));
    }
    MaskKey key{};
    if (masked) {
        if (have < pos + 4) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < 4; ++i) {
            key[i] = b[pos + i];
        }
        pos += 4;
    }
    if (have - pos < size) {
        return std::nullopt;
    }
    Frame frame;
    frame.fin = fin;
    frame.opcode = static_cast<Opcode>(op);
    frame.payload = m_buffer.substr(pos, static_cast<std::size_t>(size));
    if (masked) {
        for (std::size_t i = 0; i < frame.payload.size(); ++i) {
            frame.payload[i] =
                static_cast<char>(static_cast<std::uint8_t>(frame.payload[i]) ^ key[i % 4]);
        }
    }
    m_buffer.erase(0, pos + static_cast<std::size_t>(size));
    return frame;
}

util::Result<std::optional<MessageAssembler::Message>> MessageAssembler::add(Frame frame) {
    if (is_control(frame.opcode)) {
        return Message{frame.opcode, std::move(frame.payload)};
    }
    if (frame.opcode == Opcode::continuation) {
        if (!m_opcode) {
            return fail(Errc::integrity, "websocket: continuation frame without a message");
        }
    } else {
        if (m_opcode) {
            return fail(Errc::integrity, "websocket: new message inside a fragmented one");
        }
        m_opcode = frame.opcode;
        m_payload.clear();
    }
    if (m_payload.size() + frame.payload.size() > m_max_message) {
        return fail(Errc::integrity, "websocket: message over the limit of ",
                    std::to_string(m_max_message), " bytes");
    }
    m_payload.append(frame.payload);
    if (!frame.fin) {
        return std::nullopt;
    }
    Message message{*m_opcode, std::move(m_payload)};
    m_opcode.reset();
    m_payload.clear();
    return message;
}

std::string random_key() {
    unsigned char nonce[16];
    random_bytes(nonce, sizeof nonce);
    return base64(nonce, sizeof nonce);
}

std::string accept_for_key(std::string_view key) {
    std::string input(key);
    input.append(k_guid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr);
    return base64(digest, size);
}

std::string handshake_request(std::string_view host_header, std::string_view path,
                              std::string_view key) {
    std::string out;
    out.append("GET ").append(path).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(host_header).append("\r\n");
    out.append("User-Agent: uhs-image\r\n");
    out.append("Upgrade: websocket\r\n");
    out.append("Connection: Upgrade\r\n");
    out.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
    out.append("Sec-WebSocket-Version: 13\r\n\r\n");
    return out;
}

util::Result<std::optional<HandshakeResponse>> parse_handshake_response(std::string_view bytes,
                                                                        std::string_view key) {
    const std::size_t end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (bytes.size() > 64 * 1024) {
            return fail(Errc::integrity, "websocket: handshake response headers over 64 KiB");
        }
        return std::nullopt;
    }
    const std::string_view head = bytes.substr(0, end);
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= head.size()) {
        const std::size_t eol = head.find("\r\n", start);
        lines.push_back(
            head.substr(start, eol == std::string_view::npos ? head.size() - start : eol - start));
        if (eol == std::string_view::npos) {
            break;
        }
        start = eol + 2;
    }
    const std::string_view status_line = lines.front();
    // "HTTP/1.1 101 Switching Protocols"
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
        return fail(Errc::integrity, "websocket: not an HTTP response: '",
                    std::string(status_line.substr(0, 40)), "'");
    }
    HandshakeResponse response;
    const std::string_view code = status_line.substr(9, 3);
    for (char c : code) {
        if (c < '0' || c > '9') {
            return fail(Errc::integrity, "websocket: bad HTTP status line");
        }
    }
    response.status = std::stoi(std::string(code));
    response.reason = std::string(util::trim(status_line.substr(12)));
    response.header_bytes = end + 4;
    if (response.status != 101) {
        return response;
    }
    std::string upgrade, connection, accept;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::size_t colon = lines[i].find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        const std::string name = util::to_lower(util::trim(lines[i].substr(0, colon)));
        const std::string value(util::trim(lines[i].substr(colon + 1)));
        if (name == "upgrade") {
            upgrade = util::to_lower(value);
        } else if (name == "connection") {
            connection = util::to_lower(value);
        } else if (name == "sec-websocket-accept") {
            accept = value;
        }
    }
    if (upgrade != "websocket" || connection.find("upgrade") == std::string::npos) {
        return fail(Errc::integrity, "websocket: 101 without Upgrade: websocket");
    }
    if (accept != accept_for_key(key)) {
        return fail(Errc::integrity, "websocket: wrong Sec-WebSocket-Accept in the handshake");
    }
    return response;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xff));
    out.append(reason.substr(0, 123));
    return out;
}

} // namespace uhs::publish::ws
