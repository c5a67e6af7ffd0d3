// SPDX-License-Identifier: Apache-2.0
// What an OpenPGP keyring says about its keys' lifetimes: enough to warn before a repository's
// signing key expires and to name the key when gpgv reports it expired. Signatures are not
// checked here (gpgv does that when it matters); a self-signature is taken at its word.
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::apt {

struct OpenPgpKey {
    std::string fingerprint; // 40 uppercase hex digits (version 4 keys)
    std::string user_id;     // the primary key's first user ID (a subkey's primary's)
    std::time_t created = 0;
    std::optional<std::time_t> expires; // from the newest self-signature; none = never
    bool subkey = false;

    // The 16-digit long key ID gpgv's status lines name (EXPKEYSIG, ERRSIG).
    std::string key_id() const;
};

// Reads the keys of a binary keyring (a sequence of OpenPGP packets, RFC 4880 / 9580). Keys
// other than version 4 are skipped. Fails with Errc::invalid_input on a malformed packet.
util::Result<std::vector<OpenPgpKey>> read_keyring(std::string_view packets);

// read_keyring of a file, armored or binary.
util::Result<std::vector<OpenPgpKey>> read_keyring_file(const std::filesystem::path& path);

// The key whose fingerprint ends with `key_id` (a long key ID or a fingerprint, any case).
const OpenPgpKey* find_key(const std::vector<OpenPgpKey>& keys, std::string_view key_id);

// "2026-12-29", UTC.
std::string format_day(std::time_t t);

// "key DE15 B144 … 6436 (isv:kubernetes OBS Project <…>) expired on 2026-12-29" or "expires
// on 2026-12-29 (in 25 days)" relative to `now`; "never expires" when it does not.
std::string describe_expiry(const OpenPgpKey& key, std::time_t now);

// The keys of `keys` that have expired by `now` or expire within `horizon_days` of it, oldest
// expiry first.
std::vector<OpenPgpKey> keys_expiring(const std::vector<OpenPgpKey>& keys, std::time_t now,
                                      int horizon_days);

// How long before a source's key expires `validate` and `lock` start to warn.
inline constexpr int k_keyring_warning_days = 30;

// One warning per key of a source's keyring that has expired by `now` or expires within
// k_keyring_warning_days ("FILE:LINE:COL" of the source, the field, the key and its date); a
// keyring that cannot be read is left to the commands that use it.
std::vector<config::Diagnostic> keyring_expiry_warnings(const config::Cluster& cluster,
                                                        std::time_t now);

} // namespace uhs::apt
