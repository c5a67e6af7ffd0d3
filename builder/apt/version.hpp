// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

namespace uhs::apt {

// Compares two Debian version strings with dpkg's exact semantics ([epoch:]upstream[-revision],
// '~' sorting before everything, even the end of the string). Returns <0, 0 or >0.
// Malformed input is compared as dpkg would compare it; it never fails.
int compare_versions(std::string_view a, std::string_view b);

// The relation of a versioned dependency ("(>= 1.2)").
enum class Relation { any, lt, le, eq, ge, gt };

// Whether `version` satisfies `relation` against `reference` ("<<" ⇒ lt, ">>" ⇒ gt; the
// deprecated "<" and ">" mean <= and >= as in dpkg).
bool satisfies(std::string_view version, Relation relation, std::string_view reference);

// The dependency operator as written in control files ("<<", "<=", "=", ">=", ">>").
std::string_view to_string(Relation relation);

} // namespace uhs::apt
