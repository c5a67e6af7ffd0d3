// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::apt {

struct IndexEntry {
    std::string sha256;
    std::uint64_t size = 0;
};

// A Release file (the signed content of InRelease).
struct Release {
    std::string suite;
    std::string codename;
    std::string date_text;
    std::time_t date = 0;
    std::optional<std::time_t> valid_until;
    std::vector<std::string> architectures;
    std::vector<std::string> components;
    bool acquire_by_hash = false;
    // apt's default pin for the suite's versions: NotAutomatic: yes gives 1,
    // ButAutomaticUpgrades: yes gives 100 (see policy.hpp).
    bool not_automatic = false;
    bool but_automatic_upgrades = false;
    std::map<std::string, IndexEntry> sha256; // path relative to the Release file → hash
};

// Parses a Release file's text. Date is required; SHA256 entries need 64 hex digits.
// Fails with Errc::invalid_input naming `origin` and the field.
util::Result<Release> parse_release(std::string_view text, std::string_view origin);

// The text between "-----BEGIN PGP SIGNED MESSAGE-----" (after its headers) and the signature,
// dash-unescaped. Only for inspection: the verified text comes from gpgv (see verify.hpp).
// Fails with Errc::invalid_input when `text` is not a clearsigned message.
util::Result<std::string> clearsigned_body(std::string_view text);

// A Release flag as apt reads it (StringToBool): yes/true/with/on/enable or a non-zero number
// is true; anything else is false.
bool release_flag(std::string_view value);

// Parses an RFC 2822 date as Release files write it ("Sat, 10 May 2025 08:49:51 UTC").
util::Result<std::time_t> parse_release_date(std::string_view text);

// "2025-05-10T08:49:51Z".
std::string format_utc(std::time_t t);

// Parses format_utc() output. Fails with Errc::invalid_input otherwise.
util::Result<std::time_t> parse_utc(std::string_view text);

} // namespace uhs::apt
