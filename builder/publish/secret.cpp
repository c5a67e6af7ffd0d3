// SPDX-License-Identifier: Apache-2.0
#include "builder/publish/secret.hpp"

#include "builder/util/fs.hpp"

#include <cstdio>
#include <cstdlib>

#include <openssl/crypto.h>
#include <sys/stat.h>

namespace uhs::publish {

using util::Errc;
using util::fail;

Secret::~Secret() {
    // Best effort: do not leave the key in freed heap memory.
    if (!m_value.empty()) {
        OPENSSL_cleanse(m_value.data(), m_value.size());
    }
}

std::filesystem::path expand_home(const std::string& path) {
    if (path.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        if (home != nullptr && *home != '\0') {
            return std::filesystem::path(home) / path.substr(2);
        }
    }
    return path;
}

util::Result<Secret> read_secret_file(const std::string& path, std::string_view what) {
    const std::filesystem::path file = expand_home(path);
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        const int err = errno;
        return fail(err == ENOENT ? Errc::not_found : Errc::io, std::string(what), " file ",
                    file.string(), ": ", util::errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(Errc::invalid_input, std::string(what), " file ", file.string(),
                    ": not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(Errc::invalid_input, std::string(what), " file ", file.string(), " has mode ",
                    mode, ", readable by others: run 'chmod 600 ", file.string(), "'");
    }
    auto text = util::read_file(file);
    if (!text) {
        return fail(text.error().code, std::string(what), " file ", file.string(),
                    ": cannot read it");
    }
    std::string value = std::move(*text);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ' ||
                              value.back() == '\t')) {
        value.pop_back();
    }
    if (value.empty()) {
        return fail(Errc::invalid_input, std::string(what), " file ", file.string(), " is empty");
    }
    return Secret(std::move(value));
}

} // namespace uhs::publish
