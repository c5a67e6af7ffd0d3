// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace uhs::util {

// What kind of failure an Error is, so callers can retry the right thing (a timeout is worth
// another try; a refusal or an integrity failure is not).
enum class Errc {
    failed,        // anything without a more precise kind
    invalid_input, // the user's input is wrong; exit code 2 at the CLI
    not_found,
    io,
    timeout,
    refused,
    integrity, // a hash or signature did not match
};

// A one-line, already contextualised message ("FILE:LINE:COL: error: ...", "cannot open X: ...").
struct Error {
    std::string message;
    Errc code = Errc::failed;
};

template <class T> using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Builds the failure side of a Result: `return fail("cannot open ", path);`.
template <class... Parts> std::unexpected<Error> fail(Errc code, Parts&&... parts) {
    std::string message;
    (message.append(std::forward<Parts>(parts)), ...);
    return std::unexpected(Error{std::move(message), code});
}

template <class... Parts> std::unexpected<Error> fail(const char* first, Parts&&... parts) {
    return fail(Errc::failed, first, std::forward<Parts>(parts)...);
}

template <class... Parts> std::unexpected<Error> fail(const std::string& first, Parts&&... parts) {
    return fail(Errc::failed, first, std::forward<Parts>(parts)...);
}

// Prefixes an error's message with context, keeping its kind.
inline Error with_context(Error error, const std::string& context) {
    error.message = context + ": " + error.message;
    return error;
}

} // namespace uhs::util

// Evaluates `expr` (a Result); on failure returns its error from the enclosing function,
// otherwise yields the value. GCC statement expression, as ccache's TRY.
#define UHS_TRY(expr)                                                                              \
    ({                                                                                             \
        auto uhs_try_result_ = (expr);                                                             \
        if (!uhs_try_result_) {                                                                    \
            return std::unexpected(std::move(uhs_try_result_.error()));                            \
        }                                                                                          \
        std::move(*uhs_try_result_);                                                               \
    })

// The same for Status (no value).
#define UHS_CHECK(expr)                                                                            \
    do {                                                                                           \
        auto uhs_check_result_ = (expr);                                                           \
        if (!uhs_check_result_) {                                                                  \
            return std::unexpected(std::move(uhs_check_result_.error()));                          \
        }                                                                                          \
    } while (false)
