// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/verify.hpp"

#include "builder/apt/keyring.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace uhs::apt {
namespace {

constexpr std::string_view k_begin_key = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
constexpr std::string_view k_end_key = "-----END PGP PUBLIC KEY BLOCK-----";
// gpgv checks a few hundred KiB in milliseconds; one that runs for a minute is stuck.
constexpr std::chrono::milliseconds k_gpgv_timeout{60'000};

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

util::Result<std::string> base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') {
            continue;
        }
        int v = base64_value(c);
        if (v < 0) {
            return util::fail(util::Errc::invalid_input, "invalid base64 character");
        }
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xffu));
        }
    }
    return out;
}

// RFC 4880 section 6.1.
std::uint32_t crc24(std::string_view data) {
    std::uint32_t crc = 0xB704CEu;
    for (char c : data) {
        crc ^= static_cast<std::uint32_t>(static_cast<unsigned char>(c)) << 16;
        for (int i = 0; i < 8; ++i) {
            crc <<= 1;
            if ((crc & 0x1000000u) != 0) {
                crc ^= 0x1864CFBu;
            }
        }
    }
    return crc & 0xFFFFFFu;
}

} // namespace

SignatureVerdict judge_gpgv_status(std::string_view status, int exit_code) {
    // One block per signature; gpgv starts each with NEWSIG. Lines before any NEWSIG (older
    // gpgv) open a block of their own.
    struct Block {
        bool good = false;
        bool valid = false;
        bool weak_digest = false;
        bool missing_key = false;
        std::string problem;
    };
    std::vector<Block> blocks;
    bool no_data = false;
    std::string expired_key;
    auto current = [&]() -> Block& {
        if (blocks.empty()) {
            blocks.emplace_back();
        }
        return blocks.back();
    };
    for (std::string_view line : util::split(status, '\n')) {
        if (!util::starts_with(line, "[GNUPG:] ")) {
            continue;
        }
        line.remove_prefix(9);
        std::vector<std::string_view> words;
        for (std::string_view w : util::split(util::trim(line), ' ')) {
            if (!w.empty()) {
                words.push_back(w);
            }
        }
        if (words.empty()) {
            continue;
        }
        std::string_view keyword = words[0];
        if (keyword == "NEWSIG") {
            blocks.emplace_back();
        } else if (keyword == "GOODSIG") {
            current().good = true;
        } else if (keyword == "VALIDSIG") {
            // VALIDSIG <fpr> <date> <timestamp> <expire> <version> <reserved> <pk-algo>
            // <hash-algo> <class> [<primary-fpr>]; hash-algo is RFC 4880's number.
            Block& b = current();
            b.valid = true;
            int hash = words.size() > 8 ? std::atoi(std::string(words[8]).c_str()) : 0;
            // Like apt: MD5 (1), SHA-1 (2) and RIPEMD-160 (3) signatures are worthless.
            b.weak_digest = hash < 8;
        } else if (keyword == "BADSIG") {
            current().problem = "bad signature";
        } else if (keyword == "EXPSIG") {
            current().problem = "expired signature";
        } else if (keyword == "EXPKEYSIG") {
            // EXPKEYSIG <long keyid> <username>
            current().problem = std::string(k_expired_key);
            if (words.size() > 1) {
                expired_key = std::string(words[1]);
            }
        } else if (keyword == "REVKEYSIG") {
            current().problem = "signed by a revoked key";
        } else if (keyword == "ERRSIG") {
            // ERRSIG <keyid> <pk-algo> <hash-algo> <class> <time> <rc>: rc 9 = no public key,
            // the only error apt tolerates when another signature is good.
            Block& b = current();
            if (words.size() > 6 && words[6] == "9") {
                b.missing_key = true;
            } else if (b.problem.empty()) {
                b.problem = "signature cannot be checked";
            }
        } else if (keyword == "NODATA") {
            no_data = true;
        }
    }
    std::size_t good = 0;
    bool weak = false;
    bool missing = false;
    for (const Block& b : blocks) {
        if (!b.problem.empty()) {
            return {false, b.problem, b.problem == k_expired_key ? expired_key : ""};
        }
        if (b.good && b.valid && !b.weak_digest) {
            ++good;
        }
        weak = weak || (b.good && b.weak_digest);
        missing = missing || b.missing_key;
    }
    if (good == 0) {
        if (weak) {
            return {false, "signed only with a weak digest algorithm (SHA-1 or older)"};
        }
        if (missing) {
            return {false, std::string(k_unknown_key)};
        }
        return {false, no_data ? "not signed" : std::string(k_no_signature)};
    }
    // gpgv exits 2 when some signature could not be checked (its key is not in the keyring);
    // anything else non-zero is a failure we do not understand, so it stays one.
    if (exit_code != 0 && !(exit_code == 2 && missing)) {
        return {false, "gpgv exited with status " + std::to_string(exit_code)};
    }
    return {true, ""};
}

bool is_armored(std::string_view data) {
    return data.find(k_begin_key) != std::string_view::npos;
}

util::Result<std::string> dearmor(std::string_view armored) {
    std::string out;
    std::size_t pos = 0;
    int blocks = 0;
    while ((pos = armored.find(k_begin_key, pos)) != std::string_view::npos) {
        std::size_t end = armored.find(k_end_key, pos);
        if (end == std::string_view::npos) {
            return util::fail(util::Errc::invalid_input, "unterminated public key block");
        }
        std::string_view block =
            armored.substr(pos + k_begin_key.size(), end - pos - k_begin_key.size());
        pos = end + k_end_key.size();
        // Armor headers end at the first empty line; the checksum line starts with '='.
        std::size_t body = block.find("\n\n");
        if (body == std::string_view::npos) {
            body = block.find("\n\r\n");
        }
        if (body == std::string_view::npos) {
            return util::fail(util::Errc::invalid_input, "public key block without a body");
        }
        std::string base64;
        std::string checksum;
        for (std::string_view line : util::split(block.substr(body), '\n')) {
            line = util::trim(line);
            if (line.empty()) {
                continue;
            }
            if (line.front() == '=' && line.size() == 5) {
                checksum = std::string(line.substr(1));
                continue;
            }
            base64.append(line);
        }
        std::string packets = UHS_TRY(base64_decode(base64));
        if (!checksum.empty()) {
            std::string crc_bytes = UHS_TRY(base64_decode(checksum));
            if (crc_bytes.size() != 3) {
                return util::fail(util::Errc::invalid_input, "malformed armor checksum");
            }
            std::uint32_t expected =
                (static_cast<std::uint32_t>(static_cast<unsigned char>(crc_bytes[0])) << 16) |
                (static_cast<std::uint32_t>(static_cast<unsigned char>(crc_bytes[1])) << 8) |
                static_cast<std::uint32_t>(static_cast<unsigned char>(crc_bytes[2]));
            if (crc24(packets) != expected) {
                return util::fail(util::Errc::invalid_input, "armor checksum mismatch");
            }
        }
        out += packets;
        ++blocks;
    }
    if (blocks == 0) {
        return util::fail(util::Errc::invalid_input, "no PGP public key block");
    }
    return out;
}

namespace {

// "the key … (uid) in KEYRING expired on DATE: refresh the keyring (…)", from the keyring's own
// packets; as much of it as can be read.
std::string describe_expired_key(const std::filesystem::path& keyring, std::string_view key_data,
                                 const std::string& key_id) {
    std::string key = "the signing key " + (key_id.empty() ? std::string("(unnamed)") : key_id);
    std::string binary(key_data);
    if (is_armored(binary)) {
        binary = dearmor(binary).value_or("");
    }
    if (auto keys = read_keyring(binary)) {
        if (const OpenPgpKey* found = find_key(*keys, key_id)) {
            key = "the signing " + describe_expiry(*found, std::time(nullptr));
        }
    }
    return key + " in " + keyring.string() +
           " (gpgv: EXPKEYSIG): refresh the keyring from the repository's published key and "
           "check its fingerprint (configs/keyrings/README.md has the steps for the shipped ones)";
}

} // namespace

util::Result<std::string> verify_clearsigned(util::CommandRunner& runner,
                                             const std::filesystem::path& keyring,
                                             std::string_view inrelease, std::string_view origin) {
    auto key_data = util::read_input_file(keyring, 16u << 20);
    if (!key_data) {
        return util::fail(key_data.error().code, origin, ": keyring ", keyring.string(), ": ",
                          key_data.error().message);
    }
    auto temp = UHS_TRY(util::TempDir::create("uhs-gpgv-"));
    std::filesystem::path binary_keyring = keyring;
    if (is_armored(*key_data)) {
        auto binary = dearmor(*key_data);
        if (!binary) {
            return util::fail(util::Errc::invalid_input, "keyring ", keyring.string(), ": ",
                              binary.error().message);
        }
        binary_keyring = temp.path() / "keyring.gpg";
        UHS_CHECK(util::write_file_atomic(binary_keyring, *binary, 0600));
    }
    std::filesystem::path input = temp.path() / "InRelease";
    std::filesystem::path output = temp.path() / "Release";
    UHS_CHECK(util::write_file_atomic(input, inrelease, 0600));
    util::Command command{.argv = {"gpgv", "--status-fd", "1", "--keyring",
                                   std::filesystem::absolute(binary_keyring).string(), "--output",
                                   output.string(), input.string()},
                          .extra_env = {"LC_ALL=C"},
                          .timeout = k_gpgv_timeout};
    auto result = runner.run(command);
    if (!result) {
        return util::fail(result.error().code, origin,
                          ": cannot run gpgv: ", result.error().message);
    }
    SignatureVerdict verdict = judge_gpgv_status(result->out, result->exit_code);
    if (!verdict.accepted) {
        std::string reason = verdict.reason;
        if (reason == k_unknown_key) {
            reason = "signed by a key not in " + keyring.string();
        } else if (reason == k_expired_key) {
            reason = describe_expired_key(keyring, *key_data, verdict.expired_key);
        } else if (reason == k_no_signature &&
                   result->err.find("no signature found") != std::string::npos) {
            reason = "not signed";
        }
        return util::fail(util::Errc::integrity, origin,
                          ": signature verification failed: ", reason);
    }
    auto signed_text = util::read_file(output);
    if (!signed_text) {
        return util::fail(util::Errc::integrity, origin, ": gpgv produced no signed text");
    }
    return std::move(*signed_text);
}

} // namespace uhs::apt
