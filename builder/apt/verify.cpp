// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/verify.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <array>
#include <cstdint>

namespace uhs::apt {
namespace {

constexpr std::string_view k_begin_key = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
constexpr std::string_view k_end_key = "-----END PGP PUBLIC KEY BLOCK-----";

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

util::Result<std::string> verify_clearsigned(util::CommandRunner& runner,
                                             const std::filesystem::path& keyring,
                                             std::string_view inrelease, std::string_view origin) {
    auto key_data = util::read_file(keyring);
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
                          .extra_env = {"LC_ALL=C"}};
    auto result = runner.run(command);
    if (!result) {
        return util::fail(result.error().code, origin,
                          ": cannot run gpgv: ", result.error().message);
    }
    bool valid = result->out.find("[GNUPG:] VALIDSIG ") != std::string::npos &&
                 result->out.find("[GNUPG:] GOODSIG ") != std::string::npos;
    if (result->exit_code != 0 || !valid) {
        std::string reason = "no valid signature";
        if (result->out.find("[GNUPG:] BADSIG") != std::string::npos) {
            reason = "bad signature";
        } else if (result->out.find("[GNUPG:] NO_PUBKEY") != std::string::npos ||
                   result->out.find("[GNUPG:] ERRSIG") != std::string::npos) {
            reason = "signed by a key not in " + keyring.string();
        } else if (result->out.find("[GNUPG:] NODATA") != std::string::npos ||
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
