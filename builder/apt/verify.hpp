// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"
#include "builder/util/subprocess.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace uhs::apt {

// Decodes every "-----BEGIN PGP PUBLIC KEY BLOCK-----" block of `armored` (base64, the CRC24
// checksum verified) and concatenates the binary packets. Fails with Errc::invalid_input on bad
// base64 or a checksum mismatch, or when there is no key block.
util::Result<std::string> dearmor(std::string_view armored);

// True when `data` looks like an ASCII-armored key file.
bool is_armored(std::string_view data);

inline constexpr std::string_view k_unknown_key = "signed by a key not in the keyring";
inline constexpr std::string_view k_no_signature = "no valid signature";

inline constexpr std::string_view k_expired_key = "signed by an expired key";

struct SignatureVerdict {
    bool accepted = false;
    std::string reason;      // why not, when !accepted
    std::string expired_key; // the long key ID gpgv named in EXPKEYSIG, if any
};

// Judges gpgv's --status-fd output (`status`) and `exit_code` the way apt does: accepted when
// at least one signature is GOODSIG + VALIDSIG with a strong digest (SHA-224 or better), no
// signature is BADSIG, EXPSIG, EXPKEYSIG or REVKEYSIG, and every ERRSIG is NO_PUBKEY (rc 9,
// gpgv then exits 2). A SHA-1, RIPEMD-160 or MD5 signature never counts as good.
SignatureVerdict judge_gpgv_status(std::string_view status, int exit_code);

// Verifies the clearsigned `inrelease` with gpgv against `keyring` (binary or armored; armored
// keys are dearmored into a private temp file) and returns the signed text exactly as gpgv
// output it. Fails closed with Errc::integrity unless judge_gpgv_status accepts;
// Errc::not_found when gpgv or the keyring is missing. `origin` names the file in errors; an
// expired signing key is named with its expiry date and where the refresh steps are.
util::Result<std::string> verify_clearsigned(util::CommandRunner& runner,
                                             const std::filesystem::path& keyring,
                                             std::string_view inrelease, std::string_view origin);

} // namespace uhs::apt
