// SPDX-License-Identifier: Apache-2.0
#include "builder/util/sha256.hpp"

#include "builder/util/fs.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace uhs::util {

struct Sha256::Context {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : m_context(std::make_unique<Context>()) {
    if (!m_context->ctx || EVP_DigestInit_ex(m_context->ctx.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL cannot initialise SHA-256");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
    EVP_DigestUpdate(m_context->ctx.get(), data.data(), data.size());
}

Sha256Digest Sha256::finish() {
    Sha256Digest digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(m_context->ctx.get(), digest.data(), &size);
    return digest;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string hex(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        hex[2 * i] = k_digits[data[i] >> 4];
        hex[2 * i + 1] = k_digits[data[i] & 0xf];
    }
    return hex;
}

std::string sha256_hex(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return to_hex(hash.finish());
}

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
    Sha256 hash;
    UHS_CHECK(read_chunks(path, [&](std::string_view chunk) { hash.update(chunk); }));
    return to_hex(hash.finish());
}

} // namespace uhs::util
