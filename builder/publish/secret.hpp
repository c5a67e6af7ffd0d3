// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>
#include <utility>

namespace uhs::publish {

// A credential (API key, CHAP secret). It has no stream operator and no implicit conversion,
// so it cannot end up in a log line, an error or a manifest by accident: the only way to the
// bytes is reveal(), used where they go on the wire.
class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : m_value(std::move(value)) {}
    Secret(const Secret&) = default;
    Secret& operator=(const Secret&) = default;
    ~Secret();

    const std::string& reveal() const { return m_value; }
    bool empty() const { return m_value.empty(); }

private:
    std::string m_value;
};

// Reads a secret from `path` (what: "API key", "CHAP secret" for messages). The file must be a
// regular file of mode 0600 or stricter (no group/other bits), else the command refuses
// (Errc::invalid_input) and names the chmod that fixes it. Trailing whitespace is dropped;
// an empty file is an error. A leading "~/" is expanded with $HOME. Messages never contain
// the content.
util::Result<Secret> read_secret_file(const std::string& path, std::string_view what);

// "~/x" -> "$HOME/x"; anything else unchanged.
std::filesystem::path expand_home(const std::string& path);

} // namespace uhs::publish
