// SPDX-License-Identifier: Apache-2.0
#include "netboot/uhs_netboot.hpp"

#include "builder/config/cluster.hpp"
#include "builder/util/version.hpp"

namespace uhs::netboot {

namespace {

// Which TFTP directories the boot service answers for, per node: the operator's check that
// every module in the carrier will be recognised before powering it on.
int run_check(const util::ParsedArgs& args, util::Io& io) {
    const std::string& file = args.positionals.at(0);
    auto cluster = config::load_cluster(file, {config::default_overlay_search_path()});
    if (!cluster) {
        for (const auto& d : cluster.error()) {
            io.err << d.to_string() << '\n';
        }
        return util::k_exit_usage;
    }
    std::size_t unknown = 0;
    for (const config::Node& node : cluster->nodes) {
        io.out << node.name << " (slot " << node.slot << ", " << node.ip.to_string() << "):";
        const auto serial = node.serial_directory();
        const auto mac = node.mac_directory();
        if (serial) {
            io.out << " tftp " << *serial << "/";
        }
        if (mac) {
            io.out << " tftp " << *mac << "/";
        }
        if (!serial && !mac) {
            io.out << " not enrolled: the boot service will not recognise it";
            ++unknown;
        }
        io.out << '\n';
    }
    if (unknown > 0) {
        io.err << "uhs-netboot check: " << unknown
               << " node(s) without serial or MAC; run 'uhs-image enroll'\n";
        return util::k_exit_failure;
    }
    return util::k_exit_ok;
}

} // namespace

int run_uhs_netboot(std::span<const std::string> args, util::Io& io) {
    if (!args.empty() && args[0] == "--version") {
        io.out << "uhs-netboot " << util::k_tool_version << '\n';
        return util::k_exit_ok;
    }
    const std::vector<util::SubcommandSpec> table{
        {
            .name = "check",
            .summary = "show which TFTP directories each node of a cluster will be served from",
            .arguments = "CLUSTER.yaml",
            .description = "Exits 1 when a node has neither serial nor MAC (it could not boot).",
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_check,
        },
    };
    return util::run_subcommands("uhs-netboot",
                                 "The LAN boot service for uhs nodes (proxyDHCP + tftp-hpa).",
                                 table, args, io);
}

} // namespace uhs::netboot
