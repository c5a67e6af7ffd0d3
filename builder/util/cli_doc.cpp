// SPDX-License-Identifier: Apache-2.0
#include "builder/util/cli_doc.hpp"

#include <algorithm>
#include <vector>

namespace uhs::util {

namespace {

// One level of the command tree, flattened: "" is the program itself, "eeprom" a group,
// "eeprom show" a command.
struct Level {
    std::string path;
    const SubcommandSpec* spec = nullptr; // nullptr for the program
    std::span<const SubcommandSpec> children;
};

void collect(std::span<const SubcommandSpec> table, const std::string& prefix,
             std::vector<Level>& levels) {
    for (const SubcommandSpec& spec : table) {
        const std::string path =
            prefix.empty() ? std::string(spec.name) : prefix + " " + std::string(spec.name);
        levels.push_back({path, &spec, spec.children});
        collect(spec.children, path, levels);
    }
}

std::vector<Level> levels_of(std::span<const SubcommandSpec> table) {
    std::vector<Level> levels{{"", nullptr, table}};
    collect(table, "", levels);
    return levels;
}

// The words a level completes to: its subcommands, or a command's options; then --help.
std::vector<std::string> completion_words(const Level& level) {
    std::vector<std::string> words;
    for (const SubcommandSpec& child : level.children) {
        words.emplace_back(child.name);
    }
    if (level.spec && level.children.empty()) {
        for (const OptionSpec& option : level.spec->options) {
            words.emplace_back(option.name);
        }
    }
    words.emplace_back("--help");
    if (!level.spec) {
        words.emplace_back("--version");
    }
    return words;
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
    std::string out;
    for (const std::string& word : words) {
        out += (out.empty() ? "" : std::string(separator)) + word;
    }
    return out;
}

std::string shell_function_name(std::string_view program) {
    std::string name = "_" + std::string(program);
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

// The case patterns both shells share: "PARENT/WORD" for each subcommand (walking the words
// typed so far) and "COMMAND:OPTION" for each option that takes a value.
std::vector<std::string> step_patterns(const std::vector<Level>& levels) {
    std::vector<std::string> patterns;
    for (const Level& level : levels) {
        for (const SubcommandSpec& child : level.children) {
            patterns.push_back('"' + level.path + "/" + std::string(child.name) + '"');
        }
    }
    return patterns;
}

std::vector<std::string> value_patterns(const std::vector<Level>& levels) {
    std::vector<std::string> patterns;
    for (const Level& level : levels) {
        if (!level.spec || !level.children.empty()) {
            continue;
        }
        for (const OptionSpec& option : level.spec->options) {
            if (option.takes_value == TakesValue::yes) {
                patterns.push_back('"' + level.path + ":" + std::string(option.name) + '"');
            }
        }
    }
    return patterns;
}

// One case branch per level (`branch` opens its pattern) setting its words (between `open` and
// `close`) and, for the program and groups, `group=1`: their words complete without a '-'.
std::string level_branches(const std::vector<Level>& levels, std::string_view branch,
                           std::string_view open, std::string_view close) {
    std::string out;
    for (const Level& level : levels) {
        out += std::string(branch) + level.path + "\") " + std::string(open) +
               join(completion_words(level), " ") + std::string(close);
        if (!level.spec || !level.children.empty()) {
            out += "; group=1";
        }
        out += " ;;\n";
    }
    return out;
}

// NAME's description is a phrase (man-pages(7)): "Turns ... nodes." becomes "turns ... nodes";
// an acronym ("LAN") keeps its case.
std::string name_line(std::string_view about) {
    std::string line(about);
    if (line.ends_with('.')) {
        line.pop_back();
    }
    if (line.size() > 1 && line[0] >= 'A' && line[0] <= 'Z' && line[1] >= 'a' && line[1] <= 'z') {
        line[0] = static_cast<char>(line[0] - 'A' + 'a');
    }
    return line;
}

void man_command(std::string& out, std::string_view program, const Level& level) {
    const SubcommandSpec& spec = *level.spec;
    std::string title = std::string(program) + " " + level.path;
    if (!spec.arguments.empty()) {
        title += " " + std::string(spec.arguments);
    } else if (!spec.children.empty()) {
        title += " COMMAND";
    }
    // A macro argument in quotes: a quote inside it is \(dq.
    std::string escaped;
    for (char c : troff_escape(title)) {
        escaped += c == '"' ? std::string("\\(dq") : std::string(1, c);
    }
    out += ".SS \"" + escaped + "\"\n";
    out += troff_escape(spec.summary) + (spec.summary.ends_with('.') ? "\n" : ".\n");
    if (!spec.description.empty()) {
        out += ".PP\n" + troff_escape(spec.description) + "\n";
    }
    if (!spec.children.empty()) {
        out += ".PP\nCommands: ";
        std::vector<std::string> names;
        for (const SubcommandSpec& child : spec.children) {
            names.push_back("\\fB" + troff_escape(child.name) + "\\fR");
        }
        out += join(names, ", ") + ".\n";
        return;
    }
    for (const OptionSpec& option : spec.options) {
        out += ".TP\n\\fB" + troff_escape(option.name) + "\\fR";
        if (option.takes_value == TakesValue::yes) {
            out += " \\fI" + troff_escape(option.value_name) + "\\fR";
        }
        out += "\n" + troff_escape(option.help);
        if (option.required == Required::yes) {
            out += " (required)";
        }
        if (option.repeatable == Repeatable::yes) {
            out += " (may be given more than once)";
        }
        out += "\n";
    }
    out += ".TP\n\\fB\\-\\-help\\fR\nshow this help\n";
}

} // namespace

std::string troff_escape(std::string_view text) {
    std::string out;
    bool line_start = true;
    for (char c : text) {
        if (line_start && (c == '.' || c == '\'')) {
            out += "\\&";
        }
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
        line_start = c == '\n';
    }
    return out;
}

std::string man_header(std::string_view name, int section, std::string_view source,
                       std::string_view manual) {
    std::string upper(name);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
    return ".\\\" Generated by uhs-docgen from the program's tables; do not edit.\n.TH " +
           troff_escape(upper) + " " + std::to_string(section) + " \"\" \"" + troff_escape(source) +
           "\" \"" + troff_escape(manual) + "\"\n";
}

std::string render_man_page(const ManPage& page) {
    const std::string program = troff_escape(page.program);
    std::string out = man_header(page.program, page.section, page.source, "uhs manual");
    out += ".SH NAME\n" + program + " \\- " + troff_escape(name_line(page.about)) + "\n";
    out += ".SH SYNOPSIS\n.B " + program + "\n.I COMMAND\n.RI [ ARGS ...]\n.br\n.B " + program +
           "\n.I COMMAND\n.B \\-\\-help\n.br\n.B " + program + "\n.B \\-\\-version\n";
    out += ".SH DESCRIPTION\n" + troff_escape(page.about) + "\n.PP\n";
    out += "\\fB" + program + " help\\fR lists the commands; \\fB" + program +
           " \\fICOMMAND\\fB \\-\\-help\\fR shows a command's options.\n";
    out += ".SH COMMANDS\n";
    for (const Level& level : levels_of(page.commands)) {
        if (level.spec) {
            man_command(out, page.program, level);
        }
    }
    out += ".SH EXIT STATUS\n.TP\n0\nsuccess\n.TP\n1\nthe work failed\n.TP\n2\n"
           "the arguments or the cluster file are wrong\n";
    if (!page.see_also.empty()) {
        out += ".SH SEE ALSO\n" + std::string(page.see_also) + "\n";
    }
    return out;
}

std::string render_bash_completion(std::string_view program,
                                   std::span<const SubcommandSpec> commands) {
    const auto levels = levels_of(commands);
    const std::string function = shell_function_name(program);
    std::string out = "# bash completion for " + std::string(program) +
                      ", generated by uhs-docgen from its --help tables; do not edit.\n";
    out += function + "() {\n";
    out += "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n";
    out += "    local cmd=\"\" group=\"\" words=\"\" i\n";
    out += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
    out += "        case \"$cmd/${COMP_WORDS[i]}\" in\n";
    out += "        " + join(step_patterns(levels), " | ") +
           ") cmd=${cmd:+$cmd }${COMP_WORDS[i]} ;;\n";
    out += "        esac\n    done\n";
    if (const auto values = value_patterns(levels); !values.empty()) {
        out += "    case \"$cmd:$prev\" in\n";
        out += "    " + join(values, " | ") +
               ") COMPREPLY=(); return ;; # a value: file names (-o default)\n";
        out += "    esac\n";
    }
    out += "    case \"$cmd\" in\n" + level_branches(levels, "    \"", "words=\"", "\"") +
           "    esac\n";
    out += "    if [[ -n $group || $cur == -* ]]; then\n";
    out += "        mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n";
    out += "    fi\n}\n";
    out += "complete -o default -F " + function + " " + std::string(program) + "\n";
    return out;
}

std::string render_zsh_completion(std::string_view program,
                                  std::span<const SubcommandSpec> commands) {
    const auto levels = levels_of(commands);
    std::string out = "#compdef " + std::string(program) + "\n# zsh completion for " +
                      std::string(program) +
                      ", generated by uhs-docgen from its --help tables; do not edit.\n";
    out += "local cmd=\"\" group=\"\" i\nlocal -a choices\n";
    out += "for ((i = 2; i < CURRENT; i++)); do\n";
    out += "    case \"$cmd/${words[i]}\" in\n";
    out += "    (" + join(step_patterns(levels), "|") + ") cmd=${cmd:+$cmd }${words[i]} ;;\n";
    out += "    esac\ndone\n";
    if (const auto values = value_patterns(levels); !values.empty()) {
        out += "case \"$cmd:${words[CURRENT-1]}\" in\n";
        out += "(" + join(values, "|") + ") _files; return ;;\n";
        out += "esac\n";
    }
    out += "case \"$cmd\" in\n" + level_branches(levels, "(\"", "choices=(", ")") + "esac\n";
    out += "if [[ -n $group || ${words[CURRENT]} == -* ]]; then\n    compadd -a choices\n"
           "else\n    _files\nfi\n";
    return out;
}

} // namespace uhs::util
