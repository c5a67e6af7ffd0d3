// SPDX-License-Identifier: Apache-2.0
// `lock` and `fetch`: pin the exact package set, then fill the content-addressed store.
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

int report(Io& io, std::string_view program, const util::Error& error) {
    return util::report_error(io, program, error.message,
                              error.code == util::Errc::invalid_input ? util::k_exit_usage
                                                                      : util::k_exit_failure);
}

struct Common {
    config::Cluster cluster;
    std::filesystem::path lock_path;
    fetch::Store store{""};
    apt::SourceOverrides overrides;
    std::filesystem::path host_root = "/";
    fetch::FetchOptions fetch_options;
};

// Parses the options `lock` and `fetch` share; prints the error and returns nullopt on failure
// with `exit_code` set.
std::optional<Common> load_common(const ParsedArgs& args, Io& io, std::string_view program,
                                  int& exit_code) {
    const std::string& file = args.positionals.at(0);
    auto cluster = load_cluster_or_report(file, io);
    if (!cluster) {
        exit_code = util::k_exit_usage;
        return std::nullopt;
    }
    Common common{.cluster = std::move(*cluster), .lock_path = image::lock_path_for(file)};
    common.store =
        fetch::Store(args.value("--store") ? std::filesystem::absolute(*args.value("--store"))
                                           : fetch::Store::default_root());
    auto overrides = apt::parse_source_overrides(args.values("--source"));
    if (!overrides) {
        exit_code = report(io, program, overrides.error());
        return std::nullopt;
    }
    common.overrides = std::move(*overrides);
    if (auto root = args.value("--host-root")) {
        common.host_root = *root;
    }
    for (auto [option, target] : {std::pair{"--jobs", &common.fetch_options.parallel},
                                  std::pair{"--attempts", &common.fetch_options.attempts}}) {
        if (auto value = args.value(option)) {
            int n = 0;
            auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
            if (ec != std::errc{} || ptr != value->data() + value->size() || n < 1 || n > 64) {
                exit_code = util::report_error(io, program,
                                               std::string(option) +
                                                   ": expected a number from 1 to 64, got \"" +
                                                   *value + "\"",
                                               util::k_exit_usage);
                return std::nullopt;
            }
            *target = n;
        }
    }
    return common;
}

int run_lock(const ParsedArgs& args, Io& io) {
    constexpr std::string_view program = "uhs-image lock";
    int exit_code = util::k_exit_ok;
    auto common = load_common(args, io, program, exit_code);
    if (!common) {
        return exit_code;
    }
    const config::Image& image = common->cluster.image;
    std::string wanted = apt::request_digest(image);
    auto existing = apt::read_lock(common->lock_path);
    if (!existing && existing.error().code != util::Errc::not_found) {
        if (!args.has("--update") || args.has("--check")) {
            return report(io, program, existing.error());
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
                                      common->lock_path.string() +
                                          " does not exist; run `uhs-image lock " +
                                          args.positionals[0] + "`",
                                      util::k_exit_failure);
        }
        if (!matches) {
            return util::report_error(
                io, program,
                common->lock_path.string() +
                    " no longer matches the cluster file (its image section changed); run "
                    "`uhs-image lock --update " +
                    args.positionals[0] + "`",
                util::k_exit_failure);
        }
        io.out << common->lock_path.string() << ": up to date (" << existing->packages.size()
               << " packages)\n";
        return util::k_exit_ok;
    }
    if (existing && !args.has("--update")) {
        if (matches) {
            io.out << common->lock_path.string() << ": up to date (" << existing->packages.size()
                   << " packages); --update re-resolves against the current indices\n";
            return util::k_exit_ok;
        }
        return util::report_error(io, program,
                                  common->lock_path.string() +
                                      " is out of date with the cluster file; re-run with "
                                      "--update to re-resolve",
                                  util::k_exit_failure);
    }
    auto uris = apt::resolve_uris(image, common->host_root, common->overrides);
    if (!uris) {
        return report(io, program, uris.error());
    }
    const std::time_t now = std::time(nullptr);
    for (const config::Diagnostic& w : apt::keyring_expiry_warnings(common->cluster, now)) {
        io.err << w.to_string("warning") << '\n';
    }
    apt::RepositoryContext context{util::default_command_runner(), common->store,
                                   common->fetch_options, now};
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
        return report(io, program, lock.error());
    }
    std::string text = apt::format_lock(*lock);
    if (auto written = util::write_file_atomic(common->lock_path, text); !written) {
        return report(io, program, written.error());
    }
    std::uint64_t bytes = 0;
    for (const auto& p : lock->packages) {
        bytes += p.size;
    }
    io.out << "wrote " << common->lock_path.string() << ": " << lock->packages.size()
           << " packages, " << bytes / (1024 * 1024) << " MiB\n";
    return util::k_exit_ok;
}

int run_fetch(const ParsedArgs& args, Io& io) {
    constexpr std::string_view program = "uhs-image fetch";
    int exit_code = util::k_exit_ok;
    auto common = load_common(args, io, program, exit_code);
    if (!common) {
        return exit_code;
    }
    const config::Image& image = common->cluster.image;
    auto lock = apt::read_lock(common->lock_path);
    if (!lock) {
        if (lock.error().code == util::Errc::not_found) {
            return util::report_error(io, program,
                                      common->lock_path.string() +
                                          " does not exist; run `uhs-image lock " +
                                          args.positionals[0] + "` first",
                                      util::k_exit_failure);
        }
        return report(io, program, lock.error());
    }
    if (lock->request_sha256 != apt::request_digest(image)) {
        return util::report_error(io, program,
                                  common->lock_path.string() +
                                      " no longer matches the cluster file; run `uhs-image lock "
                                      "--update " +
                                      args.positionals[0] + "`",
                                  util::k_exit_failure);
    }
    if (args.has("--offline")) {
        // Hash every object: a store file can rot on disk, and a build would take it as is.
        std::size_t missing = 0;
        std::size_t corrupt = 0;
        std::string first;
        for (const auto& p : lock->packages) {
            auto intact = common->store.verify(p.sha256);
            if (intact) {
                continue;
            }
            if (intact.error().code == util::Errc::integrity) {
                ++corrupt;
            } else if (intact.error().code != util::Errc::not_found) {
                return report(io, program, intact.error());
            }
            if (missing++ == 0) {
                first = p.name + " " + p.version;
            }
        }
        if (missing > 0) {
            std::string why = corrupt == 0 ? ""
                                           : " (" + std::to_string(corrupt) +
                                                 " of them were corrupt and have been removed)";
            return util::report_error(
                io, program,
                "--offline: " + std::to_string(missing) + " locked packages are not in the store " +
                    common->store.root().string() + why + " (first: " + first + ")",
                util::k_exit_failure);
        }
        io.out << "all " << lock->packages.size() << " packages are in "
               << common->store.root().string() << '\n';
        return util::k_exit_ok;
    }
    auto uris = apt::resolve_uris(image, common->host_root, common->overrides);
    if (!uris) {
        return report(io, program, uris.error());
    }
    auto items = apt::download_items(*lock, image, *uris);
    if (!items) {
        return report(io, program, items.error());
    }
    auto result =
        fetch::download_all(*items, common->store, common->fetch_options, io.err, STDERR_FILENO);
    if (!result) {
        return report(io, program, result.error());
    }
    io.out << "fetched " << result->downloaded << " packages (" << result->bytes / 1024 << " KiB), "
           << result->already_present << " already in " << common->store.root().string() << '\n';
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
        {
            .name = "lock",
            .summary = "resolve the image's packages and write CLUSTER.yaml.lock",
            .arguments = "CLUSTER.yaml [--check] [--update] [--source NAME=URI]...",
            .description =
                "Verifies each source's InRelease with gpgv against its keyring, downloads the "
                "indices it lists (checked by SHA-256), resolves the variant's base set plus the "
                "requested packages as apt would, and writes the sorted lock beside the cluster "
                "file. An existing lock is left alone unless --update is given.",
            .options = lock_options,
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_lock,
        },
        {
            .name = "fetch",
            .summary = "download every locked package into the content-addressed store",
            .arguments = "CLUSTER.yaml [--offline] [--source NAME=URI]...",
            .description =
                "Downloads in parallel with retries and resume; each file's size and SHA-256 "
                "are checked before it enters the store under sha256/xx/HASH.",
            .options = fetch_options,
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_fetch,
        },
    };
}

} // namespace uhs::cli
