// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/keyring.hpp"

#include "builder/apt/verify.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include <openssl/evp.h>

namespace uhs::apt {

namespace {

using util::Errc;
using util::fail;

// RFC 9580 packet tags and signature types used here.
constexpr int k_tag_signature = 2;
constexpr int k_tag_public_key = 6;
constexpr int k_tag_user_id = 13;
constexpr int k_tag_public_subkey = 14;
constexpr int k_sig_subkey_binding = 0x18;
constexpr int k_sig_direct_key = 0x1f;
constexpr int k_subpacket_creation_time = 2;
constexpr int k_subpacket_key_expiration = 9;
constexpr int k_subpacket_issuer = 16;
constexpr int k_subpacket_issuer_fingerprint = 33;

struct Packet {
    int tag = 0;
    std::string_view body;
};

std::uint32_t be32(std::string_view s, std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

unsigned byte(std::string_view s, std::size_t at) {
    return static_cast<unsigned char>(s[at]);
}

util::Result<std::vector<Packet>> split_packets(std::string_view data) {
    std::vector<Packet> packets;
    std::size_t at = 0;
    while (at < data.size()) {
        const unsigned header = byte(data, at++);
        if ((header & 0x80) == 0) {
            return fail(Errc::invalid_input, "not an OpenPGP packet at offset ",
                        std::to_string(at - 1));
        }
        int tag = 0;
        std::size_t length = 0;
        auto need = [&](std::size_t n) {
            return at + n <= data.size();
        };
        if (header & 0x40) { // new format
            tag = static_cast<int>(header & 0x3f);
            if (!need(1)) {
                break;
            }
            const unsigned first = byte(data, at++);
            if (first < 192) {
                length = first;
            } else if (first < 224) {
                if (!need(1)) {
                    break;
                }
                length = ((first - 192) << 8) + byte(data, at++) + 192;
            } else if (first == 255) {
                if (!need(4)) {
                    break;
                }
                length = be32(data, at);
                at += 4;
            } else {
                return fail(Errc::invalid_input, "partial-length OpenPGP packet in a keyring");
            }
        } else { // old format
            tag = static_cast<int>((header >> 2) & 0x0f);
            const unsigned type = header & 0x03;
            const std::size_t octets = type == 0 ? 1 : type == 1 ? 2 : type == 2 ? 4 : 0;
            if (octets == 0) {
                length = data.size() - at;
            } else {
                if (!need(octets)) {
                    break;
                }
                for (std::size_t i = 0; i < octets; ++i) {
                    length = length << 8 | byte(data, at++);
                }
            }
        }
        if (!need(length)) {
            return fail(Errc::invalid_input, "truncated OpenPGP packet (tag ", std::to_string(tag),
                        ")");
        }
        packets.push_back({tag, data.substr(at, length)});
        at += length;
    }
    if (at != data.size()) {
        return fail(Errc::invalid_input, "truncated OpenPGP packet header");
    }
    return packets;
}

std::string sha1_hex_upper(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr);
    EVP_DigestUpdate(ctx.get(), data.data(), data.size());
    EVP_DigestFinal_ex(ctx.get(), digest.data(), &size);
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += k_hex[digest[i] >> 4];
        out += k_hex[digest[i] & 0x0f];
    }
    return out;
}

// A version 4 key's fingerprint: SHA-1 over 0x99, the two-octet body length and the body.
std::string v4_fingerprint(std::string_view body) {
    std::string framed;
    framed += static_cast<char>(0x99);
    framed += static_cast<char>((body.size() >> 8) & 0xff);
    framed += static_cast<char>(body.size() & 0xff);
    framed.append(body);
    return sha1_hex_upper(framed);
}

struct SelfSignature {
    int type = 0;
    std::time_t created = 0;
    std::optional<std::uint32_t> expiration; // seconds after the key's creation; 0 = never
    std::string issuer;                      // long key ID or fingerprint, uppercase hex
};

// Reads a version 4 signature's hashed subpackets (creation, key expiration) and the issuer
// from either area. Other versions give nothing.
std::optional<SelfSignature> read_signature(std::string_view body) {
    if (body.size() < 6 || byte(body, 0) != 4) {
        return std::nullopt;
    }
    SelfSignature sig;
    sig.type = static_cast<int>(byte(body, 1));
    std::size_t at = 4;
    for (int area = 0; area < 2; ++area) {
        if (at + 2 > body.size()) {
            return std::nullopt;
        }
        const std::size_t size = byte(body, at) << 8 | byte(body, at + 1);
        at += 2;
        if (at + size > body.size()) {
            return std::nullopt;
        }
        std::string_view sub = body.substr(at, size);
        at += size;
        std::size_t i = 0;
        while (i < sub.size()) {
            std::size_t length = byte(sub, i++);
            if (length >= 192 && length < 255) {
                if (i >= sub.size()) {
                    return std::nullopt;
                }
                length = ((length - 192) << 8) + byte(sub, i++) + 192;
            } else if (length == 255) {
                if (i + 4 > sub.size()) {
                    return std::nullopt;
                }
                length = be32(sub, i);
                i += 4;
            }
            if (length == 0 || i + length > sub.size()) {
                return std::nullopt;
            }
            const int type = static_cast<int>(byte(sub, i) & 0x7f);
            std::string_view data = sub.substr(i + 1, length - 1);
            i += length;
            const bool hashed = area == 0;
            if (hashed && type == k_subpacket_creation_time && data.size() == 4) {
                sig.created = be32(data, 0);
            } else if (hashed && type == k_subpacket_key_expiration && data.size() == 4) {
                sig.expiration = be32(data, 0);
            } else if (type == k_subpacket_issuer && data.size() == 8 && sig.issuer.empty()) {
                sig.issuer = util::to_hex(reinterpret_cast<const std::uint8_t*>(data.data()), 8);
            } else if (type == k_subpacket_issuer_fingerprint && data.size() == 21) {
                sig.issuer =
                    util::to_hex(reinterpret_cast<const std::uint8_t*>(data.data()) + 1, 20);
            }
        }
    }
    std::transform(sig.issuer.begin(), sig.issuer.end(), sig.issuer.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return sig;
}

bool issued_by(const SelfSignature& sig, const std::string& primary_fingerprint) {
    return sig.issuer.empty() || primary_fingerprint.ends_with(sig.issuer);
}

} // namespace

std::string OpenPgpKey::key_id() const {
    return fingerprint.size() >= 16 ? fingerprint.substr(fingerprint.size() - 16) : fingerprint;
}

util::Result<std::vector<OpenPgpKey>> read_keyring(std::string_view data) {
    auto packets = UHS_TRY(split_packets(data));
    std::vector<OpenPgpKey> keys;
    std::size_t primary = 0;         // index in keys of the current primary key
    OpenPgpKey* current = nullptr;   // the key the following signatures belong to
    std::time_t newest_self_sig = 0; // of `current`
    bool after_user_id = false;
    for (const Packet& packet : packets) {
        if (packet.tag == k_tag_public_key || packet.tag == k_tag_public_subkey) {
            current = nullptr;
            after_user_id = false;
            if (packet.body.size() < 6 || byte(packet.body, 0) != 4) {
                continue; // not a version 4 key: its fingerprint is computed otherwise
            }
            OpenPgpKey key;
            key.fingerprint = v4_fingerprint(packet.body);
            key.created = be32(packet.body, 1);
            key.subkey = packet.tag == k_tag_public_subkey;
            if (key.subkey) {
                if (keys.empty() || keys[primary].subkey) {
                    continue; // a subkey without its primary
                }
                key.user_id = keys[primary].user_id;
            }
            keys.push_back(std::move(key));
            if (!keys.back().subkey) {
                primary = keys.size() - 1;
            }
            current = &keys.back();
            newest_self_sig = -1;
        } else if (packet.tag == k_tag_user_id) {
            after_user_id = true;
            if (current && !current->subkey && current->user_id.empty()) {
                current->user_id = std::string(packet.body);
            }
        } else if (packet.tag == k_tag_signature && current) {
            auto sig = read_signature(packet.body);
            if (!sig || !issued_by(*sig, keys[primary].fingerprint)) {
                continue;
            }
            const bool self = current->subkey
                                  ? sig->type == k_sig_subkey_binding
                                  : (sig->type == k_sig_direct_key ||
                                     (after_user_id && sig->type >= 0x10 && sig->type <= 0x13));
            if (!self || sig->created < newest_self_sig) {
                continue;
            }
            newest_self_sig = sig->created;
            if (sig->expiration && *sig->expiration != 0) {
                current->expires = current->created + static_cast<std::time_t>(*sig->expiration);
            } else {
                current->expires.reset();
            }
        }
    }
    return keys;
}

util::Result<std::vector<OpenPgpKey>> read_keyring_file(const std::filesystem::path& path) {
    auto data = util::read_input_file(path, 16u << 20); // Debian's own keyring is ~200 kB
    if (!data) {
        return fail(data.error().code, "keyring ", path.string(), ": ", data.error().message);
    }
    std::string binary = std::move(*data);
    if (is_armored(binary)) {
        auto decoded = dearmor(binary);
        if (!decoded) {
            return fail(Errc::invalid_input, "keyring ", path.string(), ": ",
                        decoded.error().message);
        }
        binary = std::move(*decoded);
    }
    auto keys = read_keyring(binary);
    if (!keys) {
        return fail(Errc::invalid_input, "keyring ", path.string(), ": ", keys.error().message);
    }
    return keys;
}

const OpenPgpKey* find_key(const std::vector<OpenPgpKey>& keys, std::string_view key_id) {
    std::string wanted(key_id);
    std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (wanted.empty()) {
        return nullptr;
    }
    for (const OpenPgpKey& key : keys) {
        if (key.fingerprint.ends_with(wanted)) {
            return &key;
        }
    }
    return nullptr;
}

std::string format_day(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
    return text;
}

std::string describe_expiry(const OpenPgpKey& key, std::time_t now) {
    std::string grouped;
    for (std::size_t i = 0; i < key.fingerprint.size(); i += 4) {
        if (i != 0) {
            grouped += ' ';
        }
        grouped += key.fingerprint.substr(i, 4);
    }
    std::string text = std::string(key.subkey ? "subkey " : "key ") + grouped;
    if (!key.user_id.empty()) {
        text += " (" + key.user_id + ")";
    }
    if (!key.expires) {
        return text + " never expires";
    }
    if (*key.expires <= now) {
        return text + " expired on " + format_day(*key.expires);
    }
    const long days = static_cast<long>((*key.expires - now) / 86400);
    return text + " expires on " + format_day(*key.expires) + " (in " + std::to_string(days) +
           (days == 1 ? " day)" : " days)");
}

std::vector<OpenPgpKey> keys_expiring(const std::vector<OpenPgpKey>& keys, std::time_t now,
                                      int horizon_days) {
    std::vector<OpenPgpKey> out;
    const std::time_t horizon = now + static_cast<std::time_t>(horizon_days) * 86400;
    for (const OpenPgpKey& key : keys) {
        if (key.expires && *key.expires <= horizon) {
            out.push_back(key);
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const OpenPgpKey& a, const OpenPgpKey& b) {
        return *a.expires < *b.expires;
    });
    return out;
}

std::vector<config::Diagnostic> keyring_expiry_warnings(const config::Cluster& cluster,
                                                        std::time_t now) {
    std::vector<config::Diagnostic> warnings;
    for (std::size_t i = 0; i < cluster.image.sources.size(); ++i) {
        const config::AptSource& source = cluster.image.sources[i];
        if (source.keyring.empty()) {
            continue;
        }
        auto keys = read_keyring_file(source.keyring);
        if (!keys) {
            continue;
        }
        for (const OpenPgpKey& key : keys_expiring(*keys, now, k_keyring_warning_days)) {
            const bool expired = *key.expires <= now;
            warnings.push_back(
                {source.location,
                 "image.sources[" + std::to_string(i) + "].keyring: " + source.keyring.string() +
                     ": " + describe_expiry(key, now) +
                     (expired ? ": lock will refuse this source's signatures"
                              : ": after that lock refuses this source's signatures") +
                     "; refresh the keyring (configs/keyrings/README.md has the steps for the "
                     "shipped ones)"});
        }
    }
    return warnings;
}

} // namespace uhs::apt
