// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/keyring.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace uhs;
using namespace uhs::apt;

namespace {

constexpr std::time_t k_2026_12_04 = 1796342400; // 2026-12-04T00:00:00Z
constexpr std::time_t k_2026_11_01 = 1793491200; // 2026-11-01T00:00:00Z

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

// A new-format packet with a one- or two-octet length.
std::string packet(int tag, const std::string& body) {
    std::string out(1, static_cast<char>(0xc0 | tag));
    if (body.size() < 192) {
        out += static_cast<char>(body.size());
    } else {
        const std::size_t n = body.size() - 192;
        out += static_cast<char>(192 + (n >> 8));
        out += static_cast<char>(n & 0xff);
    }
    return out + body;
}

std::string key_body(std::uint32_t created, char filler) {
    return std::string(1, 4) + be32(created) + std::string(1, 22) + std::string(40, filler);
}

std::string subpacket(int type, const std::string& data) {
    return std::string(1, static_cast<char>(data.size() + 1)) + static_cast<char>(type) + data;
}

// A version 4 signature of `type` made at `created`, with a key expiration (seconds after the
// key's creation) when given, issued by `issuer` (8 bytes).
std::string signature(int type, std::uint32_t created, std::optional<std::uint32_t> expiration,
                      const std::string& issuer) {
    std::string hashed = subpacket(2, be32(created));
    if (expiration) {
        hashed += subpacket(9, be32(*expiration));
    }
    std::string unhashed = subpacket(16, issuer);
    std::string body{4, static_cast<char>(type), 22, 8};
    body += static_cast<char>(hashed.size() >> 8);
    body += static_cast<char>(hashed.size() & 0xff);
    body += hashed;
    body += static_cast<char>(unhashed.size() >> 8);
    body += static_cast<char>(unhashed.size() & 0xff);
    body += unhashed;
    return packet(2, body + std::string(6, 'S'));
}

std::string key_id_bytes(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

} // namespace

TEST_CASE("the shipped Kubernetes keyring: its key, user ID and expiry are read") {
    auto keys =
        read_keyring_file(test::source_dir() / "configs/keyrings/kubernetes-apt-keyring.gpg");
    REQUIRE(keys);
    REQUIRE(keys->size() >= 1);
    const OpenPgpKey& key = keys->front();
    CHECK(key.fingerprint == "DE15B14486CD377B9E876E1A234654DA9A296436");
    CHECK(key.key_id() == "234654DA9A296436");
    CHECK(key.user_id.find("isv:kubernetes OBS Project") == 0);
    CHECK_FALSE(key.subkey);
    REQUIRE(key.expires);
    CHECK(format_day(*key.expires) == "2026-12-29");
    CHECK(describe_expiry(key, k_2026_12_04) ==
          "key DE15 B144 86CD 377B 9E87 6E1A 2346 54DA 9A29 6436 (" + key.user_id +
              ") expires on 2026-12-29 (in 25 days)");
    CHECK(keys_expiring(*keys, k_2026_12_04, 30).size() == 1);
    CHECK(keys_expiring(*keys, k_2026_11_01, 30).empty());
    CHECK(describe_expiry(key, *key.expires + 86400).ends_with("expired on 2026-12-29"));
    CHECK(find_key(*keys, "234654da9a296436") == &keys->front());
    CHECK(find_key(*keys, "0000000000000000") == nullptr);
}

TEST_CASE("the newest self-signature sets a key's expiry; other keys' certifications do not") {
    const std::string primary = key_body(1'700'000'000, 'p');
    const std::string sub = key_body(1'700'000'100, 's');
    std::string data = packet(6, primary) + packet(13, "Test <t@uhs.invalid>");
    auto keys = read_keyring(data);
    REQUIRE(keys);
    const std::string fpr = keys->front().fingerprint;
    const std::string self = key_id_bytes(fpr.substr(24));
    const std::string stranger = key_id_bytes("0123456789ABCDEF");
    // An old self-signature with a 10-day expiry, a newer one with 400 days, and a stranger's
    // certification claiming 1 day: the newest self-signature wins.
    data += signature(0x13, 1'700'000'000, 10 * 86400, self);
    data += signature(0x13, 1'700'100'000, 400 * 86400, self);
    data += signature(0x10, 1'700'200'000, 86400, stranger);
    // A subkey bound with a 30-day expiry.
    data += packet(14, sub) + signature(0x18, 1'700'000'100, 30 * 86400, self);
    keys = read_keyring(data);
    REQUIRE(keys);
    REQUIRE(keys->size() == 2);
    REQUIRE(keys->at(0).expires);
    CHECK(*keys->at(0).expires == 1'700'000'000 + 400 * 86400);
    CHECK(keys->at(1).subkey);
    CHECK(keys->at(1).user_id == "Test <t@uhs.invalid>");
    REQUIRE(keys->at(1).expires);
    CHECK(*keys->at(1).expires == 1'700'000'100 + 30 * 86400);
    auto soon = keys_expiring(*keys, 1'700'000'100 + 20 * 86400, 30);
    REQUIRE(soon.size() == 1);
    CHECK(soon.front().subkey);
    CHECK(describe_expiry(soon.front(), 1'700'000'100 + 20 * 86400).starts_with("subkey "));

    // A newer self-signature without an expiration makes the key never expire again.
    data += signature(0x1f, 1'700'300'000, std::nullopt, self);
    keys = read_keyring(packet(6, primary) + packet(13, "Test <t@uhs.invalid>") +
                        signature(0x13, 1'700'000'000, 10 * 86400, self) +
                        signature(0x1f, 1'700'300'000, std::nullopt, self));
    REQUIRE(keys);
    CHECK_FALSE(keys->front().expires);
    CHECK(describe_expiry(keys->front(), 1'800'000'000).ends_with("never expires"));
}

TEST_CASE("a malformed keyring is refused") {
    CHECK_FALSE(read_keyring("\x01garbage"));
    std::string truncated = packet(6, key_body(1'700'000'000, 'p'));
    truncated.resize(truncated.size() - 5);
    auto keys = read_keyring(truncated);
    REQUIRE_FALSE(keys);
    CHECK(keys.error().message.find("truncated") != std::string::npos);
}

TEST_CASE("validate's keyring warning names the source, the key and the date") {
    config::Cluster cluster;
    config::AptSource source;
    source.name = "kubernetes";
    source.keyring = test::source_dir() / "configs/keyrings/kubernetes-apt-keyring.gpg";
    source.location = {"cluster.yaml", 20, 7};
    cluster.image.sources.push_back(source);
    auto warnings = keyring_expiry_warnings(cluster, k_2026_12_04);
    REQUIRE(warnings.size() == 1);
    const std::string line = warnings.front().to_string("warning");
    CHECK(line.starts_with("cluster.yaml:20:7: warning: image.sources[0].keyring: "));
    CHECK(line.find("expires on 2026-12-29 (in 25 days)") != std::string::npos);
    CHECK(line.find("configs/keyrings/README.md") != std::string::npos);
    CHECK(keyring_expiry_warnings(cluster, k_2026_11_01).empty());
}
