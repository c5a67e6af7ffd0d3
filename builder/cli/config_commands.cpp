// SPDX-License-Identifier: Apache-2.0
// `validate` and `plan`: read the cluster file and say what would happen.
#include "builder/apt/keyring.hpp"
#include "builder/cli/commands.hpp"
#include "builder/image/plan.hpp"
#include "builder/util/strings.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

namespace uhs::cli {

using util::Io;
using util::ParsedArgs;

std::optional<config::Cluster> load_cluster_or_report(const std::string& file, Io& io) {
    config::LoadOptions options{config::default_overlay_search_path()};
    auto cluster = config::load_cluster(file, options);
    if (!cluster) {
        for (const config::Diagnostic& d : cluster.error()) {
            io.err << d.to_string() << '\n';
        }
        return std::nullopt;
    }
    return std::move(*cluster);
}

namespace {

int run_validate(const ParsedArgs& args, Io& io) {
    const std::string& file = args.positionals.at(0);
    if (!args.has("--json")) {
        auto cluster = load_cluster_or_report(file, io);
        if (!cluster) {
            return util::k_exit_usage;
        }
        for (const config::Diagnostic& w :
             apt::keyring_expiry_warnings(*cluster, std::time(nullptr))) {
            io.err << w.to_string("warning") << '\n';
        }
        io.out << file << ": ok (" << cluster->nodes.size() << " nodes)\n";
        return util::k_exit_ok;
    }
    config::LoadOptions options{config::default_overlay_search_path()};
    auto cluster = config::load_cluster(file, options);
    nlohmann::json report{{"file", util::printable(file)}, {"valid", cluster.has_value()}};
    nlohmann::json errors = nlohmann::json::array();
    if (!cluster) {
        for (const config::Diagnostic& d : cluster.error()) {
            errors.push_back({{"file", d.where.file},
                              {"line", d.where.line},
                              {"column", d.where.column},
                              {"message", d.message}});
        }
    }
    report["errors"] = errors;
    nlohmann::json warnings = nlohmann::json::array();
    if (cluster) {
        for (const config::Diagnostic& w :
             apt::keyring_expiry_warnings(*cluster, std::time(nullptr))) {
            warnings.push_back({{"file", w.where.file},
                                {"line", w.where.line},
                                {"column", w.where.column},
                                {"message", w.message}});
        }
    }
    report["warnings"] = warnings;
    // Every string above went through util::printable; `replace` keeps a stray byte from ever
    // turning into an exception instead of a report.
    io.out << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return cluster ? util::k_exit_ok : util::k_exit_usage;
}

int run_plan(const ParsedArgs& args, Io& io) {
    auto cluster = load_cluster_or_report(args.positionals.at(0), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    auto plan = image::make_build_plan(*cluster, args.value("--out").value_or("out"));
    if (!plan) {
        return util::report_error(io, "uhs-image plan", plan.error().message, util::k_exit_failure);
    }
    if (args.has("--json")) {
        io.out << image::to_json(*plan).dump(2) << '\n';
    } else {
        io.out << image::to_text(*plan);
    }
    return util::k_exit_ok;
}

} // namespace

std::vector<util::SubcommandSpec> config_commands() {
    using util::OptionSpec;
    using util::TakesValue;
    return {
        {
            .name = "validate",
            .summary = "check a cluster file and report every problem at once",
            .arguments = "CLUSTER.yaml [--json]",
            .description =
                "Prints FILE:LINE:COL: error: FIELD: MESSAGE for each problem and exits 2\n"
                "when there is any, 0 when the file is valid.",
            .options = {{"--json", TakesValue::no, "print the result as JSON"}},
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_validate,
        },
        {
            .name = "plan",
            .summary = "show what 'build' will produce: image-id inputs, artifacts, node trees",
            .arguments = "CLUSTER.yaml [--json] [--out DIR]",
            .description = "Per node: the netboot directory names the bootloader asks for (serial\n"
                           "as %08x of its low 32 bits, MAC as aa-bb-cc-dd-ee-ff) and the files\n"
                           "written there. The image-id is known once the lock file exists.",
            .options = {{"--json", TakesValue::no, "print the plan as JSON"},
                        {"--out", TakesValue::yes, "output directory (default: out)", "DIR"}},
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_plan,
        },
    };
}

} // namespace uhs::cli
