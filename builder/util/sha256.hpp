// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace uhs::util {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256 (OpenSSL EVP underneath).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::string_view data);
    // Finishes the hash; the object must not be updated afterwards.
    Sha256Digest finish();

private:
    struct Context;
    std::unique_ptr<Context> m_context;
};

// Lowercase hex of any bytes.
std::string to_hex(const std::uint8_t* data, std::size_t size);
inline std::string to_hex(const Sha256Digest& digest) {
    return to_hex(digest.data(), digest.size());
}

// SHA-256 of a buffer, as lowercase hex.
std::string sha256_hex(std::string_view data);

// SHA-256 of a file's contents, as lowercase hex.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

} // namespace uhs::util
