// SPDX-License-Identifier: Apache-2.0
#include "builder/util/sha256.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>
#include <stdexcept>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

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
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return fail(err == ENOENT ? Errc::not_found : Errc::io, "cannot open ", path.string(), ": ",
                    errno_text(err));
    }
    Sha256 hash;
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, "cannot read ", path.string(), ": ", errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        hash.update(std::string_view(buffer, static_cast<size_t>(n)));
    }
    return to_hex(hash.finish());
}

} // namespace uhs::util
