// SPDX-License-Identifier: Apache-2.0
// The man page and completion renderers list every command and option of the table they are
// given (so the pages cannot drift from --help), and the cluster page every key the reader takes.
#include "builder/cli/commands.hpp"
#include "builder/config/cluster_schema.hpp"
#include "builder/util/cli_doc.hpp"
#include "netboot/uhs_netboot.hpp"
#include "tests/unit/test_support.hpp"

#include <functional>

using namespace uhs;

namespace {

std::vector<util::SubcommandSpec> sample_table() {
    return {
        {
            .name = "validate",
            .summary = "check a file",
            .arguments = "FILE [--json]",
            .description = "Prints every problem.\n.A line that starts with a dot.",
            // Rendering reads no positional counts and runs nothing.
            .options = {{"--json", util::TakesValue::no, "JSON output"}},
        },
        {
            .name = "eeprom",
            .summary = "bootloader EEPROMs",
            .children =
                {
                    {
                        .name = "set",
                        .summary = "write a config",
                        .options = {{"--out", util::TakesValue::yes, "where", "FILE",
                                     util::Repeatable::no, util::Required::yes},
                                    {"--key", util::TakesValue::yes, "a back\\slash", "K=V",
                                     util::Repeatable::yes}},
                    },
                },
        },
    };
}

// Calls `visit(path, spec)` for every command of `table`, nested ones as "group name".
void each_command(
    std::span<const util::SubcommandSpec> table, const std::string& prefix,
    const std::function<void(const std::string&, const util::SubcommandSpec&)>& visit) {
    for (const auto& spec : table) {
        const std::string path =
            prefix.empty() ? std::string(spec.name) : prefix + " " + std::string(spec.name);
        visit(path, spec);
        each_command(spec.children, path, visit);
    }
}

// Every command and option of `table` appears in its man page and both completions.
void check_lists_everything(std::string_view program, std::span<const util::SubcommandSpec> table) {
    const std::string man = util::render_man_page(
        {.program = program, .section = 1, .source = "uhs 0", .about = "about", .commands = table});
    const std::string bash = util::render_bash_completion(program, table);
    const std::string zsh = util::render_zsh_completion(program, table);
    std::size_t commands = 0;
    each_command(table, "", [&](const std::string& path, const util::SubcommandSpec& spec) {
        ++commands;
        INFO(program << " " << path);
        CHECK(man.find(".SS \"" + util::troff_escape(std::string(program) + " " + path)) !=
              std::string::npos);
        const std::string leaf(spec.name);
        CHECK(bash.find("/" + leaf + "\"") != std::string::npos);
        CHECK(zsh.find("/" + leaf + "\"") != std::string::npos);
        for (const auto& option : spec.options) {
            INFO(option.name);
            CHECK(man.find("\\fB" + util::troff_escape(option.name) + "\\fR") != std::string::npos);
            // In a word list, always followed by another word (--help comes last).
            CHECK(bash.find(std::string(option.name) + " ") != std::string::npos);
            CHECK(zsh.find(std::string(option.name) + " ") != std::string::npos);
        }
    });
    CHECK(commands > 0);
}

} // namespace

TEST_CASE("troff_escape keeps text literal", "[cli_doc]") {
    CHECK(util::troff_escape("--json") == "\\-\\-json");
    CHECK(util::troff_escape("a\\b") == "a\\eb");
    CHECK(util::troff_escape(".TH\n'x") == "\\&.TH\n\\&'x");
}

TEST_CASE("man page and completion of a sample table", "[cli_doc]") {
    const auto table = sample_table();
    check_lists_everything("prog", table);
    const std::string man = util::render_man_page({.program = "prog",
                                                   .section = 8,
                                                   .source = "uhs 0",
                                                   .about = "does things",
                                                   .commands = table});
    CHECK(man.find(".TH PROG 8 \"\" \"uhs 0\"") != std::string::npos);
    CHECK(util::render_man_page({.program = "p", .about = "Turns files into nodes."})
              .find(".SH NAME\np \\- turns files into nodes\n") != std::string::npos);
    CHECK(util::render_man_page({.program = "p", .about = "The LAN service."})
              .find(".SH NAME\np \\- the LAN service\n") != std::string::npos);
    CHECK(util::render_man_page({.program = "p", .about = "LAN service"})
              .find(".SH NAME\np \\- LAN service\n") != std::string::npos);
    CHECK(man.find(".SH NAME\nprog \\- does things\n") != std::string::npos);
    CHECK(man.find("\n\\&.A line that starts") != std::string::npos);
    CHECK(man.find("\\fB\\-\\-out\\fR \\fIFILE\\fR\nwhere (required)") != std::string::npos);
    CHECK(man.find("a back\\eslash (may be given more than once)") != std::string::npos);
    CHECK(man.find(".SS \"prog eeprom COMMAND\"") != std::string::npos);
    CHECK(man.find(".SS \"prog eeprom set\"") != std::string::npos);

    const std::string bash = util::render_bash_completion("prog", table);
    CHECK(bash.find("\"\") words=\"validate eeprom --help --version\"; group=1 ;;") !=
          std::string::npos);
    CHECK(bash.find("\"eeprom\") words=\"set --help\"; group=1 ;;") != std::string::npos);
    CHECK(bash.find("\"eeprom set\") words=\"--out --key --help\" ;;") != std::string::npos);
    CHECK(bash.find("\"eeprom set:--out\" | \"eeprom set:--key\")") != std::string::npos);
    CHECK(bash.find("complete -o default -F _prog prog\n") != std::string::npos);

    const std::string zsh = util::render_zsh_completion("prog", table);
    CHECK(zsh.starts_with("#compdef prog\n"));
    CHECK(zsh.find("(\"eeprom set\") choices=(--out --key --help) ;;") != std::string::npos);
}

TEST_CASE("the programs' man pages and completion list every command and option", "[cli_doc]") {
    check_lists_everything("uhs-image", cli::uhs_image_commands());
    check_lists_everything("uhs-netboot", netboot::netboot_commands());
}

TEST_CASE("uhs-cluster(5) lists every key the reader accepts", "[cli_doc]") {
    const auto sections = config::cluster_sections();
    for (std::size_t i = 0; i < sections.size(); ++i) {
        // cluster_section() indexes the table by the enum.
        CHECK(static_cast<std::size_t>(sections[i].section) == i);
        for (std::string_view key : sections[i].required) {
            INFO(sections[i].path << " requires " << key);
            CHECK(std::find(sections[i].allowed.begin(), sections[i].allowed.end(), key) !=
                  sections[i].allowed.end());
        }
    }
    auto prose = util::read_file(test::source_dir() / "builder/config/uhs-cluster.5.in");
    REQUIRE(prose);
    const std::string man = config::render_cluster_man_page(*prose, "uhs 0");
    REQUIRE_FALSE(man.empty());
    CHECK(man.starts_with(".\\\" Generated by uhs-docgen"));
    CHECK(man.find(".TH UHS\\-CLUSTER 5") != std::string::npos);
    CHECK(man.find("@KEYS@") == std::string::npos);
    for (const auto& section : sections) {
        const std::string title = section.path.empty() ? "top level" : std::string(section.path);
        INFO(title);
        const auto at = man.find(".SS \"" + util::troff_escape(title) + "\"\n");
        REQUIRE(at != std::string::npos);
        const auto end = man.find(".S", at + 4);
        const std::string body = man.substr(at, end - at);
        for (std::string_view key : section.allowed) {
            const bool required = std::find(section.required.begin(), section.required.end(),
                                            key) != section.required.end();
            INFO(key);
            CHECK(body.find("\\fB" + util::troff_escape(key) + "\\fR" +
                            (required ? " (required)" : "")) != std::string::npos);
        }
    }
    CHECK(config::render_cluster_man_page("no marker here\n", "uhs 0").empty());
}
