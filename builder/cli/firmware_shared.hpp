// SPDX-License-Identifier: Apache-2.0
// What `eeprom plan`, `flash` and `enroll` share: the update timestamp's parser and the
// TFTP_FILE_TIMEOUT a cluster's built image needs.
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/cli.hpp"
#include "firmware/rpiboot/plan.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace uhs::cli {

// A Unix time of 0 to 2^32-1 (what a pieeprom's update timestamp holds), or nullopt.
std::optional<std::int64_t> parse_epoch(const std::string& text);

// TFTP_FILE_TIMEOUT and why: from the largest file under a built image's boot/ (--image DIR,
// else the image `uhs-image plan` names under --images, default out/, when it is built), else
// from k_assumed_largest_boot_file.
struct TftpTimeout {
    std::uint32_t ms = rpiboot::k_default_tftp_file_timeout_ms;
    std::uint64_t largest = 0; // bytes, 0 when assumed
    std::string reason;
};

std::optional<TftpTimeout> tftp_timeout_for(const util::ParsedArgs& args,
                                            const config::Cluster& cluster, util::Io& io,
                                            const std::string& command);

// `uhs-image eeprom show|extract|set|plan` (eeprom_commands.cpp).
util::SubcommandSpec eeprom_command();

} // namespace uhs::cli
