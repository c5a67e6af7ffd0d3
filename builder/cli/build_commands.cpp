// SPDX-License-Identifier: Apache-2.0
// `build`: the lock and the store become OUT/<image-id>/, reproducibly.
#include "builder/cli/commands.hpp"
#include "builder/fetch/store.hpp"
#include "builder/image/build.hpp"
#include "builder/image/plan.hpp"
#include "builder/rootfs/dpkg_log.hpp"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include <unistd.h>

namespace uhs::cli {

namespace {

int run_build(const util::ParsedArgs& args, util::Io& io, std::string_view program,
              StoreCommand& command) {
    const config::Cluster& cluster = command.cluster;
    const fetch::Store& store = command.fetch.store;
    apt::FetchPolicy& policy = command.fetch.policy;
    policy.offline = args.has("--offline");
    image::BuildOptions options;
    options.out_dir = args.value("--out").value_or("out");
    options.disk = args.has("--disk");
    options.use_cache = !args.has("--no-cache");
    options.store_root = store.root();
    options.stage_cache = image::default_stage_cache();
    const bool json_output = args.has("--json");
    // Progress on a terminal only; logs and pipes get the summary alone.
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    const auto start = std::chrono::steady_clock::now();
    if (tty) {
        options.progress = [&io, start](std::string_view line) {
            const double s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::ostringstream stamp;
            stamp << std::fixed << std::setprecision(1) << "[" << std::setw(6) << s << " s] ";
            io.err << stamp.str() << line << '\n' << std::flush;
        };
        policy.say = options.progress;
        policy.progress = &io.err;
        policy.progress_fd = STDERR_FILENO;
    }
    const auto begun = image::start_build(cluster, options);
    if (!begun) {
        return report_failure(io, program, begun.error());
    }
    // The store is filled here, by the one fetch policy, so build_image only reads it; a
    // complete image needs nothing from it.
    std::optional<image::PhaseTime> fetched;
    if (!begun->complete) {
        const auto fetch_start = std::chrono::steady_clock::now();
        auto filled = apt::fill_store(cluster.image, begun->lock, store, policy);
        if (!filled) {
            return report_failure(io, program, filled.error());
        }
        if (policy.offline && filled->missing > 0) {
            const std::size_t corrupt = filled->corrupt;
            return util::report_error(
                io, program,
                "--offline: " + std::to_string(filled->missing) +
                    " locked packages are not in the store " + store.root().string() +
                    (corrupt > 0 ? " (" + std::to_string(corrupt) + " of them corrupt, removed)"
                                 : std::string()) +
                    "; run `uhs-image fetch " + args.positionals[0] + "`",
                util::k_exit_failure);
        }
        fetched = image::PhaseTime{
            "fetch",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - fetch_start).count()};
    }
    rootfs::NamespaceChrootRunner chroot;
    auto result =
        image::build_image(cluster, *begun, options, chroot, util::default_command_runner());
    if (!result) {
        return report_failure(io, program, result.error());
    }
    if (fetched) {
        result->phases.insert(result->phases.begin(), *fetched);
    }
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const std::string& warning : result->warnings) {
        io.err << "uhs-image build: warning: " << warning << '\n';
    }
    if (json_output) {
        nlohmann::json phases = nlohmann::json::array();
        for (const auto& p : result->phases) {
            phases.push_back({{"phase", p.phase}, {"seconds", p.seconds}});
        }
        nlohmann::json dpkg = nullptr;
        if (result->dpkg) {
            nlohmann::json packages = nlohmann::json::array();
            for (const auto& p : result->dpkg->packages) {
                packages.push_back({{"package", p.package},
                                    {"prepare", p.prepare},
                                    {"unpack", p.unpack},
                                    {"configure", p.configure},
                                    {"triggers", p.triggers}});
            }
            dpkg = {{"prepare", result->dpkg->prepare},
                    {"unpack", result->dpkg->unpack},
                    {"configure", result->dpkg->configure},
                    {"triggers", result->dpkg->triggers},
                    {"packages", packages}};
        }
        io.out << nlohmann::json{
                      {"image_id", result->image_id},
                      {"image_dir", result->image_dir.string()},
                      {"up_to_date", result->up_to_date},
                      {"nodes_refreshed", result->nodes_refreshed},
                      {"stage_cache_hit", result->stage_cache_hit},
                      {"initramfs_cache_hit", result->initramfs_cache_hit},
                      {"stage_key", result->stage_key},
                      {"source_date_epoch", result->source_date_epoch},
                      {"seconds", total},
                      {"phases", phases},
                      {"dpkg", dpkg},
                      {"warnings", result->warnings},
                      {"boot_chain", image::boot_chain_to_json(result->boot_chain)["checks"]},
                  }.dump(2)
               << '\n';
        return util::k_exit_ok;
    }
    std::ostringstream seconds;
    seconds << std::fixed << std::setprecision(1) << total;
    if (result->up_to_date) {
        io.out << result->image_dir.string() << ": up to date (image " << result->image_id << ")"
               << (result->nodes_refreshed
                       ? "; nodes/ rewritten for the cluster file's serials and MACs"
                       : "")
               << "\n";
    } else {
        io.out << "built " << result->image_dir.string() << " in " << seconds.str() << " s"
               << (result->stage_cache_hit ? " (configured root from the stage cache)" : "")
               << (result->initramfs_cache_hit ? " (initramfs from the stage cache)" : "") << '\n';
        // Where the time went, phase by phase (--json has the same as numbers).
        std::ostringstream phases;
        phases << std::fixed << std::setprecision(1);
        for (const auto& p : result->phases) {
            phases << (phases.tellp() > 0 ? ", " : "") << p.phase << " " << p.seconds << " s";
        }
        io.out << "phases: " << phases.str() << '\n';
        if (result->dpkg) {
            io.out << "dpkg: " << rootfs::format_dpkg_summary(*result->dpkg) << '\n';
        }
    }
    return util::k_exit_ok;
}

} // namespace

std::vector<util::SubcommandSpec> build_commands() {
    using util::OptionSpec;
    using util::Repeatable;
    using util::TakesValue;
    return {
        store_command(
            {
                .name = "build",
                .summary = "build the image: rootfs.tar, boot/, nodes/, manifest.json, SBOM",
                .arguments = "CLUSTER.yaml [--out DIR] [--disk] [--json] [--no-cache] "
                             "[--source NAME=URI]...",
                .description =
                    "Needs CLUSTER.yaml.lock (`uhs-image lock`). Fetches missing .debs into the "
                    "store, installs them with the target's own dpkg in a chroot under qemu-user "
                    "(private mount and PID namespaces; no service starts), applies the overlays, "
                    "normalises the root and writes OUT/<image-id>/ in a temp directory renamed "
                    "into place when complete. SOURCE_DATE_EPOCH is the lock's newest source Date. "
                    "An existing complete image is left alone. The configured root is cached under "
                    "$XDG_CACHE_HOME/uhs/stages, keyed by the lock and the package list, so an "
                    "overlay-only change skips dpkg. Needs root.",
                .options =
                    {
                        OptionSpec{"--out", TakesValue::yes, "output directory (default: out)",
                                   "DIR"},
                        OptionSpec{"--disk", TakesValue::no,
                                   "also write disk.img (MBR, FAT32, ext4)"},
                        OptionSpec{"--json", TakesValue::no, "print a JSON summary"},
                        OptionSpec{"--no-cache", TakesValue::no,
                                   "neither use nor fill the stage cache"},
                        OptionSpec{"--offline", TakesValue::no,
                                   "use only the store; fail if a package is missing"},
                        OptionSpec{"--source", TakesValue::yes,
                                   "use URI for the cluster file's source NAME", "NAME=URI",
                                   Repeatable::yes},
                        OptionSpec{"--store", TakesValue::yes,
                                   "content-addressed store (default $XDG_CACHE_HOME/uhs/store)",
                                   "DIR"},
                        OptionSpec{"--host-root", TakesValue::yes,
                                   "read the host's APT sources from DIR/etc/apt (default /)",
                                   "DIR"},
                    },
            },
            run_build),
    };
}

} // namespace uhs::cli
