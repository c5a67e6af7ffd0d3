// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace uhs::config {

// Editing a cluster file in place: what `uhs-image enroll` records. Only the values it sets
// change; comments, order and layout survive, because the text is edited where yaml-cpp's marks
// say the values stand rather than re-emitted.

// What enrolment learnt about the module in a slot.
struct NodeIdentity {
    std::string serial;             // 8 or 16 hex digits
    std::optional<std::string> mac; // aa:bb:cc:dd:ee:ff
};

// Returns `text` (a cluster file) with `serial:` and `mac:` of node `node_name` set to
// `identity`, editing only those values: an existing value is replaced where it stands, a
// missing key is added after `model:` (flow mappings `{...}` and block mappings alike), so
// comments, order and layout survive. The result is validated as a whole cluster file (a
// serial already used by another node is refused with the loader's diagnostic).
util::Result<std::string> set_node_identity(const std::string& text,
                                            const std::filesystem::path& file,
                                            std::string_view node_name,
                                            const NodeIdentity& identity);

// Reads `cluster_file`, applies set_node_identity and replaces the file atomically, keeping
// its permission bits.
util::Status enroll(const std::filesystem::path& cluster_file, std::string_view node_name,
                    const NodeIdentity& identity);

// A board serial as the USB second stage or an operator gives it, normalised to lowercase;
// fails unless it is 8 or 16 hex digits.
util::Result<std::string> normalise_serial(std::string_view serial);

} // namespace uhs::config
