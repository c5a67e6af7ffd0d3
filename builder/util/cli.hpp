// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::util {

// Exit codes shared by every uhs program.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1; // the work failed
inline constexpr int k_exit_usage = 2;   // the user's input (arguments, config file) is wrong

enum class TakesValue { no, yes };
enum class Repeatable { no, yes };
enum class Required { no, yes };

struct OptionSpec {
    std::string_view name; // "--json"
    TakesValue takes_value = TakesValue::no;
    std::string_view help;
    std::string_view value_name = "VALUE";
    Repeatable repeatable = Repeatable::no;
    // A required option is checked before the command runs, which may then use its value.
    Required required = Required::no;
};

// The parsed command line of one subcommand.
class ParsedArgs {
public:
    std::vector<std::string> positionals;

    bool has(std::string_view option) const;
    // The last value given for `option`.
    std::optional<std::string> value(std::string_view option) const;
    // Every value given for a repeatable option, in order.
    std::vector<std::string> values(std::string_view option) const;

    void add(std::string_view option, std::string value);

private:
    std::map<std::string, std::vector<std::string>, std::less<>> m_values;
};

// Where a subcommand writes; tests pass string streams.
struct Io {
    std::ostream& out;
    std::ostream& err;
};

// One row of a data-driven subcommand table: help text and "did you mean" come for free.
struct SubcommandSpec {
    std::string_view name;
    std::string_view summary;     // one line, shown in the parent's help
    std::string_view arguments;   // e.g. "FILE [--json]"
    std::string_view description; // further paragraphs for --help
    std::vector<OptionSpec> options;
    std::size_t min_positionals = 0;
    std::size_t max_positionals = 0;
    std::function<int(const ParsedArgs&, Io&)> run;
    std::vector<SubcommandSpec> children; // nested subcommands (`eeprom show`)
};

// Dispatches `args` (without the program name) to the matching subcommand of `table`.
// `program` is the name used in messages ("uhs-image", "uhs-image eeprom").
// Prints help for --help/-h/help, "did you mean" for typos, and returns the exit code.
int run_subcommands(std::string_view program, std::string_view about,
                    std::span<const SubcommandSpec> table, std::span<const std::string> args,
                    Io& io);

// A whole program (`main` without argv[0]): `--version` prints "PROGRAM VERSION", anything else
// is run_subcommands of `table`.
int run_program(std::string_view program, std::string_view about,
                std::span<const SubcommandSpec> table, std::span<const std::string> args, Io& io);

// Prints "PROGRAM: error: MESSAGE" and returns `exit_code`.
int report_error(Io& io, std::string_view program, std::string_view message, int exit_code);

// An option's value as a duration: a positive number of seconds, fractions allowed, at most
// `max_seconds`; otherwise an invalid_input error naming the option ("--timeout: 'x' is not a
// number of seconds").
Result<std::chrono::milliseconds> parse_seconds_option(std::string_view option,
                                                       const std::string& text, double max_seconds);

} // namespace uhs::util
