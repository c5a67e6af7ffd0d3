// SPDX-License-Identifier: Apache-2.0
#include "builder/util/cli.hpp"

#include "builder/util/strings.hpp"
#include "builder/util/version.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

namespace uhs::util {

bool ParsedArgs::has(std::string_view option) const {
    return m_values.contains(option);
}

std::optional<std::string> ParsedArgs::value(std::string_view option) const {
    auto it = m_values.find(option);
    if (it == m_values.end() || it->second.empty()) {
        return std::nullopt;
    }
    return it->second.back();
}

std::vector<std::string> ParsedArgs::values(std::string_view option) const {
    auto it = m_values.find(option);
    return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

void ParsedArgs::add(std::string_view option, std::string value) {
    auto it = m_values.find(option);
    if (it == m_values.end()) {
        it = m_values.emplace(std::string(option), std::vector<std::string>{}).first;
    }
    it->second.push_back(std::move(value));
}

int report_error(Io& io, std::string_view program, std::string_view message, int exit_code) {
    io.err << program << ": error: " << message << '\n';
    return exit_code;
}

namespace {

bool is_help(std::string_view arg) {
    return arg == "--help" || arg == "-h" || arg == "help";
}

void print_table_help(std::ostream& out, std::string_view program, std::string_view about,
                      std::span<const SubcommandSpec> table) {
    out << "Usage: " << program << " COMMAND [ARGS...]\n";
    if (!about.empty()) {
        out << '\n' << about << '\n';
    }
    out << "\nCommands:\n";
    std::size_t width = 0;
    for (const auto& spec : table) {
        width = std::max(width, spec.name.size());
    }
    for (const auto& spec : table) {
        out << "  " << spec.name << std::string(width - spec.name.size() + 2, ' ') << spec.summary
            << '\n';
    }
    out << "\nRun '" << program << " COMMAND --help' for a command's options.\n";
}

void print_command_help(std::ostream& out, std::string_view program, const SubcommandSpec& spec) {
    out << "Usage: " << program << ' ' << spec.name;
    if (!spec.arguments.empty()) {
        out << ' ' << spec.arguments;
    }
    out << "\n\n" << spec.summary << '\n';
    if (!spec.description.empty()) {
        out << '\n' << spec.description << '\n';
    }
    if (!spec.options.empty()) {
        out << "\nOptions:\n";
        std::vector<std::string> heads;
        std::size_t width = 0;
        for (const auto& option : spec.options) {
            std::string head(option.name);
            if (option.takes_value == TakesValue::yes) {
                head += ' ';
                head += option.value_name;
            }
            width = std::max(width, head.size());
            heads.push_back(std::move(head));
        }
        for (std::size_t i = 0; i < spec.options.size(); ++i) {
            out << "  " << heads[i] << std::string(width - heads[i].size() + 2, ' ')
                << spec.options[i].help << '\n';
        }
    }
    out << "  "
        << "--help" << std::string(2, ' ') << "show this help\n";
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    const auto match = closest_match(word, candidates);
    return match ? " (did you mean '" + *match + "'?)" : "";
}

int run_leaf(std::string_view program, const SubcommandSpec& spec,
             std::span<const std::string> args, Io& io) {
    const std::string full = std::string(program) + " " + std::string(spec.name);
    ParsedArgs parsed;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (!options_done && is_help(arg) && arg != "help") {
            print_command_help(io.out, program, spec);
            return k_exit_ok;
        }
        if (!options_done && arg == "--") {
            options_done = true;
            continue;
        }
        if (options_done || arg.size() < 2 || arg[0] != '-') {
            parsed.positionals.push_back(arg);
            continue;
        }
        std::string name = arg;
        std::optional<std::string> inline_value;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
            name = arg.substr(0, eq);
            inline_value = arg.substr(eq + 1);
        }
        const auto option = std::find_if(spec.options.begin(), spec.options.end(),
                                         [&](const OptionSpec& o) { return o.name == name; });
        if (option == spec.options.end()) {
            std::vector<std::string_view> names;
            for (const auto& o : spec.options) {
                names.push_back(o.name);
            }
            names.push_back("--help");
            return report_error(io, full,
                                "unknown option '" + name + "'" + did_you_mean(name, names),
                                k_exit_usage);
        }
        if (option->repeatable == Repeatable::no && parsed.has(name)) {
            return report_error(io, full, "option " + name + " given twice", k_exit_usage);
        }
        if (option->takes_value == TakesValue::no) {
            if (inline_value) {
                return report_error(io, full, "option " + name + " takes no value", k_exit_usage);
            }
            parsed.add(name, "");
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= args.size()) {
                return report_error(
                    io, full, "option " + name + " needs a " + std::string(option->value_name),
                    k_exit_usage);
            }
            inline_value = args[++i];
        }
        parsed.add(name, *inline_value);
    }
    for (const OptionSpec& option : spec.options) {
        if (option.required == Required::yes && !parsed.has(option.name)) {
            return report_error(io, full,
                                "missing " + std::string(option.name) + " " +
                                    std::string(option.value_name) + " (see '" + full + " --help')",
                                k_exit_usage);
        }
    }
    if (parsed.positionals.size() < spec.min_positionals ||
        parsed.positionals.size() > spec.max_positionals) {
        return report_error(
            io, full, "expected " + std::string(spec.arguments) + " (see '" + full + " --help')",
            k_exit_usage);
    }
    try {
        return spec.run(parsed, io);
    } catch (const std::exception& e) {
        // Exceptions stop at the edge: one line, failure exit.
        return report_error(io, full, e.what(), k_exit_failure);
    }
}

} // namespace

int run_subcommands(std::string_view program, std::string_view about,
                    std::span<const SubcommandSpec> table, std::span<const std::string> args,
                    Io& io) {
    if (args.empty()) {
        print_table_help(io.err, program, about, table);
        return k_exit_usage;
    }
    if (is_help(args[0])) {
        if (args[0] == "help" && args.size() > 1) {
            // `help build` is `build --help`.
            std::vector<std::string> rewritten(args.begin() + 1, args.end());
            rewritten.push_back("--help");
            return run_subcommands(program, about, table, rewritten, io);
        }
        print_table_help(io.out, program, about, table);
        return k_exit_ok;
    }
    const auto spec = std::find_if(table.begin(), table.end(),
                                   [&](const SubcommandSpec& s) { return s.name == args[0]; });
    if (spec == table.end()) {
        std::vector<std::string_view> names;
        for (const auto& s : table) {
            names.push_back(s.name);
        }
        return report_error(io, program,
                            "unknown command '" + args[0] + "'" + did_you_mean(args[0], names) +
                                "; run '" + std::string(program) + " --help'",
                            k_exit_usage);
    }
    if (!spec->children.empty()) {
        const std::string nested = std::string(program) + " " + std::string(spec->name);
        return run_subcommands(nested, spec->summary, spec->children, args.subspan(1), io);
    }
    return run_leaf(program, *spec, args.subspan(1), io);
}

int run_program(std::string_view program, std::string_view about,
                std::span<const SubcommandSpec> table, std::span<const std::string> args, Io& io) {
    if (!args.empty() && args[0] == "--version") {
        io.out << program << ' ' << k_tool_version << '\n';
        return k_exit_ok;
    }
    return run_subcommands(program, about, table, args, io);
}

Result<std::chrono::milliseconds>
parse_seconds_option(std::string_view option, const std::string& text, double max_seconds) {
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(seconds > 0) || seconds > max_seconds) {
        return fail(Errc::invalid_input, option, ": '", text, "' is not a number of seconds");
    }
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

} // namespace uhs::util
