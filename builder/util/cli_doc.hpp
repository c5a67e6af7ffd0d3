// SPDX-License-Identifier: Apache-2.0
// The man page and shell completion of a program, rendered from the same SubcommandSpec table
// that prints its --help, so neither can list a command or option --help does not (or miss
// one). Run at build time by uhs-docgen (builder/cli/docgen.cpp, cmake/UhsDocs.cmake); the programs
// never call it.
#pragma once

#include "builder/util/cli.hpp"

#include <span>
#include <string>
#include <string_view>

namespace uhs::util {

struct ManPage {
    std::string_view program; // "uhs-image"
    int section = 1;
    std::string_view source;   // the footer's "uhs 0.3.0"
    std::string_view about;    // the one line of NAME and the table's --help
    std::string_view see_also; // troff, e.g. ".BR uhs-netboot (8)"
    std::span<const SubcommandSpec> commands;
};

// troff text: backslashes and hyphens escaped, a leading '.' or '\'' made literal.
std::string troff_escape(std::string_view text);

// ".TH PROGRAM SECTION ..." with no date (the page is the same bytes on every build).
std::string man_header(std::string_view name, int section, std::string_view source,
                       std::string_view manual);

// man(7) source: NAME, SYNOPSIS, DESCRIPTION, COMMANDS (every subcommand, nested ones as
// "PROGRAM GROUP NAME", each with its options), EXIT STATUS, SEE ALSO.
std::string render_man_page(const ManPage& page);

// A bash script defining the completion (`complete -F`) of `program`: subcommands at each
// level, a command's options after '-', file names elsewhere and for an option's value.
std::string render_bash_completion(std::string_view program,
                                   std::span<const SubcommandSpec> commands);

// The same as a zsh completion function file (#compdef PROGRAM), for fpath as _PROGRAM.
std::string render_zsh_completion(std::string_view program,
                                  std::span<const SubcommandSpec> commands);

} // namespace uhs::util
