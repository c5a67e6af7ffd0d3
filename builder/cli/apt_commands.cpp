// SPDX-License-Identifier: Apache-2.0
// `lock` and `fetch`: pin the exact package set, then fill the content-addressed store.
#include "builder/apt/fetch_policy.hpp"
#include "builder/apt/keyring.hpp"
#include "builder/apt/lock.hpp"
#include "builder/cli/commands.hpp"
#include "builder/fetch/http.hpp"
#include "builder/image/image_id.hpp"
#include "builder/util/fs.hpp"

#include <charconv>
#include <ctime>

#include <unistd.h>

namespace uhs::cli {

using util::Io;
using util::ParsedArgs;

namespace {

// The --store, --source, --host-root, --jobs and --attempts a command was given;
// Errc::invalid_input naming an option whose value does not parse.
util::Result<FetchSetup> parse_fetch_setup(const ParsedArgs& args) {
    FetchSetup setup;
    setup.store =
        fetch::Store(args.value("--store") ? std::filesystem::absolute(*args.value("--store"))
                                           : fetch::Store::default_root());
    setup.policy.overrides = UHS_TRY(apt::parse_source_overrides(args.values("--source")));
    if (auto root = args.value("--host-root")) {
        setup.policy.host_root = *root;
    }
    for (auto [option, target] : {std::pair{"--jobs", &setup.policy.options.parallel},
                                  std::pair{"--attempts", &setup.policy.options.attempts}}) {
        if (auto value = args.value(option)) {
            int n = 0;
            auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
            if (ec != std::errc{} || ptr != value->data() + value->size() || n < 1 || n > 64) {
                return util::fail(util::Errc::invalid_input, option,
                                  ": expected a number from 1 to 64, got \"", *value, "\"");
            }
            *target = n;
        }
    }
    return setup;
}

int run_lock(const ParsedArgs& args, Io& io, std::string_view program, StoreCommand& command) {
    const config::Image& image = command.cluster.image;
    std::string wanted = apt::request_digest(image);
    auto existing = apt::read_lock(command.lock_path);
    if (!existing && existing.error().code != util::Errc::not_found) {
        if (!args.has("--update") || args.has("--check")) {
            return report_failure(io, program, existing.error());
        }
        // --update exists to replace a lock; a corrupt one must not block that.
        io.err << program << ": warning: ignoring the unreadable lock (" << existing.error().message
               << "); re-resolving without it\n";
        existing = std::unexpected(util::Error{"ignored", util::Errc::not_found});
    }
    bool matches = existing && existing->request_sha256 == wanted;
    if (args.has("--check")) {
        if (!existing) {
            return util::report_error(io, program,
                                      command.lock_path.string() +
                                          " does not exist; run `uhs-image lock " +
                                          args.positionals[0] + "`",
                                      util::k_exit_failure);
        }
        if (!matches) {
            return util::report_error(
                io, program,
                command.lock_path.string() +
                    " no longer matches the cluster file (its image section changed); run "
                    "`uhs-image lock --update " +
                    args.positionals[0] + "`",
                util::k_exit_failure);
        }
        io.out << command.lock_path.string() << ": up to date (" << existing->packages.size()
               << " packages)\n";
        return util::k_exit_ok;
    }
    if (existing && !args.has("--update")) {
        if (matches) {
            io.out << command.lock_path.string() << ": up to date (" << existing->packages.size()
                   << " packages); --update re-resolves against the current indices\n";
            return util::k_exit_ok;
        }
        return util::report_error(io, program,
                                  command.lock_path.string() +
                                      " is out of date with the cluster file; re-run with "
                                      "--update to re-resolve",
                                  util::k_exit_failure);
    }
    const apt::FetchPolicy& policy = command.fetch.policy;
    auto uris = apt::resolve_uris(image, policy.host_root, policy.overrides);
    if (!uris) {
        return report_failure(io, program, uris.error());
    }
    const std::time_t now = std::time(nullptr);
    for (const config::Diagnostic& w : apt::keyring_expiry_warnings(command.cluster, now)) {
        io.err << w.to_string("warning") << '\n';
    }
    apt::RepositoryContext context{util::default_command_runner(), command.fetch.store,
                                   policy.options, now};
    if (existing) {
        // Never go back behind what the old lock already saw (see RepositoryContext).
        for (const apt::LockedSource& s : existing->sources) {
            if (auto date = apt::parse_utc(s.date)) {
                context.not_before[{s.name, s.suite}] = *date;
            }
        }
    }
    auto lock = apt::compute_lock(image, *uris, context);
    if (!lock) {
        return report_failure(io, program, lock.error());
    }
    std::string text = apt::format_lock(*lock);
    if (auto written = util::write_file_atomic(command.lock_path, text); !written) {
        return report_failure(io, program, written.error());
    }
    std::uint64_t bytes = 0;
    for (const auto& p : lock->packages) {
        bytes += p.size;
    }
    io.out << "wrote " << command.lock_path.string() << ": " << lock->packages.size()
           << " packages, " << bytes / (1024 * 1024) << " MiB\n";
    return util::k_exit_ok;
}

int run_fetch(const ParsedArgs& args, Io& io, std::string_view program, StoreCommand& command) {
    auto lock = apt::read_current_lock(command.lock_path, command.cluster);
    if (!lock) {
        return report_failure(io, program, lock.error());
    }
    const fetch::Store& store = command.fetch.store;
    apt::FetchPolicy policy = command.fetch.policy;
    policy.offline = args.has("--offline");
    policy.check_sources = true;
    policy.progress = &io.err;
    policy.progress_fd = STDERR_FILENO;
    auto filled = apt::fill_store(command.cluster.image, *lock, store, policy);
    if (!filled) {
        return report_failure(io, program, filled.error());
    }
    if (policy.offline) {
        if (filled->missing > 0) {
            std::string why = filled->corrupt == 0
                                  ? ""
                                  : " (" + std::to_string(filled->corrupt) +
                                        " of them were corrupt and have been removed)";
            return util::report_error(io, program,
                                      "--offline: " + std::to_string(filled->missing) +
                                          " locked packages are not in the store " +
                                          store.root().string() + why +
                                          " (first: " + filled->first_missing + ")",
                                      util::k_exit_failure);
        }
        io.out << "all " << filled->locked << " packages are in " << store.root().string() << '\n';
        return util::k_exit_ok;
    }
    const fetch::DownloadReport got = filled->downloaded.value_or(fetch::DownloadReport{});
    io.out << "fetched " << got.downloaded << " packages (" << got.bytes / 1024 << " KiB), "
           << filled->locked - filled->missing + got.already_present << " already in "
           << store.root().string() << '\n';
    return util::k_exit_ok;
}

std::vector<util::OptionSpec> shared_options() {
    using util::OptionSpec;
    using util::Repeatable;
    using util::TakesValue;
    return {
        OptionSpec{"--source", TakesValue::yes,
                   "use URI for the cluster file's source NAME (mirrors, air-gapped builds)",
                   "NAME=URI", Repeatable::yes},
        OptionSpec{"--store", TakesValue::yes,
                   "content-addressed store (default $XDG_CACHE_HOME/uhs/store)", "DIR"},
        OptionSpec{"--host-root", TakesValue::yes,
                   "read the host's APT sources from DIR/etc/apt (default /)", "DIR"},
        OptionSpec{"--jobs", TakesValue::yes, "parallel downloads (default 4)", "N"},
        OptionSpec{"--attempts", TakesValue::yes, "tries per download (default 4)", "N"},
    };
}

} // namespace

int report_failure(Io& io, std::string_view program, const util::Error& error) {
    return util::report_error(io, program, error.message,
                              error.code == util::Errc::invalid_input ? util::k_exit_usage
                                                                      : util::k_exit_failure);
}

util::SubcommandSpec store_command(util::SubcommandSpec spec, StoreCommandBody body) {
    spec.min_positionals = 1;
    spec.max_positionals = 1;
    spec.run = [program = "uhs-image " + std::string(spec.name), body](const ParsedArgs& args,
                                                                       Io& io) {
        const std::string& file = args.positionals.at(0);
        auto cluster = load_cluster_or_report(file, io);
        if (!cluster) {
            return util::k_exit_usage;
        }
        auto fetch = parse_fetch_setup(args);
        if (!fetch) {
            return report_failure(io, program, fetch.error());
        }
        StoreCommand command{std::move(*cluster), image::lock_path_for(file), std::move(*fetch)};
        return body(args, io, program, command);
    };
    return spec;
}

std::vector<util::SubcommandSpec> apt_commands() {
    using util::OptionSpec;
    using util::TakesValue;
    std::vector<OptionSpec> lock_options = shared_options();
    lock_options.push_back(OptionSpec{"--check", TakesValue::no,
                                      "exit 1 when the lock no longer matches the cluster file"});
    lock_options.push_back(
        OptionSpec{"--update", TakesValue::no, "re-resolve even when a lock exists"});
    std::vector<OptionSpec> fetch_options = shared_options();
    fetch_options.push_back(
        OptionSpec{"--offline", TakesValue::no, "use only the store; fail if anything is missing"});
    return {
        store_command(
            {
                .name = "lock",
                .summary = "resolve the image's packages and write CLUSTER.yaml.lock",
                .arguments = "CLUSTER.yaml [--check] [--update] [--source NAME=URI]...",
                .description =
                    "Verifies each source's InRelease with gpgv against its keyring, downloads the "
                    "indices it lists (checked by SHA-256), resolves the variant's base set plus "
                    "the requested packages as apt would, and writes the sorted lock beside the "
                    "cluster file. An existing lock is left alone unless --update is given.",
                .options = lock_options,
            },
            run_lock),
        store_command(
            {
                .name = "fetch",
                .summary = "download every locked package into the content-addressed store",
                .arguments = "CLUSTER.yaml [--offline] [--source NAME=URI]...",
                .description =
                    "Downloads in parallel with retries and resume; each file's size and SHA-256 "
                    "are checked before it enters the store under sha256/xx/HASH.",
                .options = fetch_options,
            },
            run_fetch),
    };
}

} // namespace uhs::cli
