// SPDX-License-Identifier: Apache-2.0
// The RFC 6455 codec against the RFC's own examples (§5.7, §1.3).
#include "builder/publish/websocket.hpp"

#include <catch2/catch.hpp>

using namespace uhs::publish::ws;

namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

constexpr MaskKey k_rfc_mask{0x37, 0xfa, 0x21, 0x3d};

} // namespace

TEST_CASE("websocket: RFC 6455 5.7 single-frame unmasked text", "[truenas][websocket]") {
    const std::string wire = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    CHECK(encode_frame({true, Opcode::text, "Hello"}, std::nullopt) == wire);
    FrameDecoder decoder(Peer::client);
    decoder.feed(wire);
    auto frame = decoder.next();
    REQUIRE(frame);
    REQUIRE(frame->has_value());
    CHECK((*frame)->fin);
    CHECK((*frame)->opcode == Opcode::text);
    CHECK((*frame)->payload == "Hello");
    CHECK(decoder.buffered() == 0);
}

TEST_CASE("websocket: RFC 6455 5.7 single-frame masked text", "[truenas][websocket]") {
    const std::string wire =
        bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    CHECK(encode_frame({true, Opcode::text, "Hello"}, k_rfc_mask) == wire);
    FrameDecoder server(Peer::server);
    server.feed(wire);
    auto frame = server.next();
    REQUIRE(frame);
    REQUIRE(frame->has_value());
    CHECK((*frame)->payload == "Hello");
    // A client must refuse a masked frame from the server (§5.1).
    FrameDecoder client(Peer::client);
    client.feed(wire);
    auto refused = client.next();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("masked") != std::string::npos);
}

TEST_CASE("websocket: RFC 6455 5.7 fragmented text, fed byte by byte", "[truenas][websocket]") {
    const std::string wire = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
    FrameDecoder decoder(Peer::client);
    MessageAssembler assembler;
    std::optional<MessageAssembler::Message> message;
    int frames = 0;
    for (char c : wire) {
        decoder.feed(std::string_view(&c, 1));
        auto frame = decoder.next();
        REQUIRE(frame);
        if (!frame->has_value()) {
            continue;
        }
        ++frames;
        auto assembled = assembler.add(std::move(**frame));
        REQUIRE(assembled);
        if (assembled->has_value()) {
            message = std::move(*assembled);
        }
    }
    CHECK(frames == 2);
    REQUIRE(message);
    CHECK(message->opcode == Opcode::text);
    CHECK(message->payload == "Hello");
}

TEST_CASE("websocket: ping and masked pong (RFC 6455 5.7)", "[truenas][websocket]") {
    CHECK(encode_frame({true, Opcode::ping, "Hello"}, std::nullopt) ==
          bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    CHECK(encode_frame({true, Opcode::pong, "Hello"}, k_rfc_mask) ==
          bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST_CASE("websocket: a control frame between fragments", "[truenas][websocket]") {
    MessageAssembler assembler;
    auto a = assembler.add({false, Opcode::text, "Hel"});
    REQUIRE(a);
    CHECK_FALSE(a->has_value());
    auto ping = assembler.add({true, Opcode::ping, "p"});
    REQUIRE(ping);
    REQUIRE(ping->has_value());
    CHECK((*ping)->opcode == Opcode::ping);
    auto b = assembler.add({true, Opcode::continuation, "lo"});
    REQUIRE(b);
    REQUIRE(b->has_value());
    CHECK((*b)->payload == "Hello");
    CHECK_FALSE(assembler.add({true, Opcode::continuation, "x"}));
}

TEST_CASE("websocket: 16-bit and 64-bit lengths (RFC 6455 5.7)", "[truenas][websocket]") {
    const std::string k256(256, 'a');
    const std::string wire256 = encode_frame({true, Opcode::binary, k256}, std::nullopt);
    CHECK(wire256.substr(0, 4) == bytes({0x82, 0x7e, 0x01, 0x00}));
    CHECK(wire256.size() == 4 + 256);

    const std::string k64k(65536, 'b');
    const std::string wire64k = encode_frame({true, Opcode::binary, k64k}, std::nullopt);
    CHECK(wire64k.substr(0, 10) ==
          bytes({0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));

    FrameDecoder decoder(Peer::client);
    decoder.feed(wire256);
    decoder.feed(wire64k.substr(0, 5)); // a partial header: no frame yet after the first
    auto first = decoder.next();
    REQUIRE(first);
    REQUIRE(first->has_value());
    CHECK((*first)->payload == k256);
    auto none = decoder.next();
    REQUIRE(none);
    CHECK_FALSE(none->has_value());
    decoder.feed(wire64k.substr(5));
    auto second = decoder.next();
    REQUIRE(second);
    REQUIRE(second->has_value());
    CHECK((*second)->payload.size() == 65536);

    // 125 is the last 7-bit length, 65535 the last 16-bit one.
    CHECK(encode_frame({true, Opcode::text, std::string(125, 'x')}, std::nullopt)[1] == 125);
    CHECK(static_cast<unsigned char>(
              encode_frame({true, Opcode::text, std::string(65535, 'x')}, std::nullopt)[1]) == 126);
}

TEST_CASE("websocket: protocol violations are refused", "[truenas][websocket]") {
    auto refuse = [](const std::string& wire, std::uint64_t limit = 1 << 20) {
        FrameDecoder decoder(Peer::client, limit);
        decoder.feed(wire);
        return !decoder.next().has_value();
    };
    CHECK(refuse(bytes({0xc1, 0x00})));                            // RSV1 without an extension
    CHECK(refuse(bytes({0x83, 0x00})));                            // opcode 3 is reserved
    CHECK(refuse(bytes({0x09, 0x00})));                            // fragmented ping
    CHECK(refuse(bytes({0x89, 0x7e, 0x00, 0x7e})));                // ping over 125 bytes
    CHECK(refuse(bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}))); // top bit of a 64-bit length
    CHECK(refuse(bytes({0x82, 0x7e, 0x10, 0x00}), 100));           // over the payload limit
}

TEST_CASE("websocket: handshake key and accept (RFC 6455 1.3)", "[truenas][websocket]") {
    CHECK(accept_for_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(random_key().size() == 24);
    CHECK(random_key() != random_key());

    const std::string request = handshake_request("nas:8443", "/api/current", "KEY");
    CHECK(request.starts_with("GET /api/current HTTP/1.1\r\nHost: nas:8443\r\n"));
    CHECK(request.find("\r\nUpgrade: websocket\r\n") != std::string::npos);
    CHECK(request.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
    CHECK(request.ends_with("\r\n\r\n"));

    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    const std::string ok = std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                       "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                                       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n") +
                           bytes({0x81, 0x00});
    auto parsed = parse_handshake_response(ok, key);
    REQUIRE(parsed);
    REQUIRE(parsed->has_value());
    CHECK((*parsed)->status == 101);
    CHECK((*parsed)->header_bytes == ok.size() - 2); // the frame after the headers is not eaten

    CHECK_FALSE(parse_handshake_response(ok.substr(0, 40), key)->has_value()); // incomplete
    const std::string wrong = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n";
    CHECK_FALSE(parse_handshake_response(wrong, key));
    auto not_found =
        parse_handshake_response("HTTP/1.1 404 Not Found\r\nServer: nginx\r\n\r\n", key);
    REQUIRE(not_found);
    CHECK((*not_found)->status == 404);
}
