// SPDX-License-Identifier: Apache-2.0
// uhs-docgen: writes the man pages and shell completions from the programs' own tables at build
// time (cmake/UhsDocs.cmake). Not installed, and not a hidden mode of the programs, so what they
// accept stays exactly what --help says.
#include "builder/cli/commands.hpp"
#include "builder/config/cluster_schema.hpp"
#include "builder/util/cli_doc.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/version.hpp"
#include "netboot/uhs_netboot.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace uhs;

int usage() {
    std::cerr << "usage: uhs-docgen (man|bash|zsh) (uhs-image|uhs-netboot) OUT\n"
                 "       uhs-docgen man uhs-cluster OUT PROSE\n";
    return util::k_exit_usage;
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() < 3) {
        return usage();
    }
    const std::string& kind = args[0];
    const std::string& program = args[1];
    const std::string source = std::string("uhs ") + util::k_tool_version;
    std::string text;
    if (kind == "man" && program == "uhs-cluster" && args.size() == 4) {
        auto prose = util::read_file(args[3]);
        if (!prose) {
            std::cerr << "uhs-docgen: " << prose.error().message << '\n';
            return util::k_exit_failure;
        }
        text = config::render_cluster_man_page(*prose, source);
        if (text.empty()) {
            std::cerr << "uhs-docgen: " << args[3] << " has no '.\\\" @KEYS@' line\n";
            return util::k_exit_failure;
        }
    } else if (args.size() == 3 && (program == "uhs-image" || program == "uhs-netboot")) {
        const bool image = program == "uhs-image";
        const auto table = image ? cli::uhs_image_commands() : netboot::netboot_commands();
        if (kind == "man") {
            text = util::render_man_page({
                .program = program,
                .section = image ? 1 : 8,
                .source = source,
                .about = image ? cli::k_uhs_image_about : netboot::k_netboot_about,
                .see_also = image ? ".BR uhs-netboot (8),\n.BR uhs-cluster (5)"
                                  : ".BR uhs-image (1),\n.BR uhs-cluster (5),\n.BR in.tftpd (8)",
                .commands = table,
            });
        } else if (kind == "bash") {
            text = util::render_bash_completion(program, table);
        } else if (kind == "zsh") {
            text = util::render_zsh_completion(program, table);
        } else {
            return usage();
        }
    } else {
        return usage();
    }
    if (auto written = util::write_file_atomic(args[2], text); !written) {
        std::cerr << "uhs-docgen: " << written.error().message << '\n';
        return util::k_exit_failure;
    }
    return util::k_exit_ok;
}
