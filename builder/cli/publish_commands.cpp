// SPDX-License-Identifier: Apache-2.0
// `publish`: puts a built image onto TrueNAS (builder/publish does the talking).
#include "builder/cli/commands.hpp"
#include "builder/image/image_id.hpp"
#include "builder/publish/client.hpp"
#include "builder/publish/publish.hpp"
#include "builder/util/fs.hpp"
#include "netboot/tftp/tree.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include <unistd.h>

namespace uhs::cli {

using util::Io;
using util::ParsedArgs;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_program = "uhs-image publish";
constexpr std::string_view k_default_state = "/var/lib/uhs-netboot";

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return std::string(value);
}

// The image ids nodes depend on, from uhs-netboot's tree: what each node's directories point
// at now, can roll back to, or will switch to at the next boot. Fails when the tree is
// missing: pruning without knowing would delete an image a node boots from.
util::Result<std::set<std::string>> referenced_images(const config::Cluster& cluster,
                                                      const fs::path& state_dir) {
    const fs::path root = state_dir / "tftproot";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        return util::fail(util::Errc::not_found, "--prune: ", root.string(),
                          " does not exist, so publish cannot tell which images the nodes use; "
                          "pass uhs-netboot's state directory as --state DIR");
    }
    const netboot::tftp::Tree tree(root);
    std::set<std::string> ids;
    for (const config::Node& node : cluster.nodes) {
        for (const auto& dir : {node.serial_directory(), node.mac_directory()}) {
            if (!dir) {
                continue;
            }
            for (const auto& id :
                 {tree.current_image(*dir), tree.previous_image(*dir), tree.pending_image(*dir)}) {
                if (id) {
                    ids.insert(*id);
                }
            }
        }
    }
    return ids;
}

// "2026-12-01T15:40:12.123456Z": the time publish records as uhs:published.
std::string utc_now_micros() {
    const auto now = std::chrono::system_clock::now();
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<long long>(micros % 1000000));
    return text;
}

util::Result<int> parse_keep(const std::string& text) {
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || value < 1 || value > 1000) {
        return util::fail(util::Errc::invalid_input, "--prune: '", text,
                          "' is not a count of images to keep (1 or more)");
    }
    return static_cast<int>(value);
}

int run_publish(const ParsedArgs& args, Io& io) {
    const std::string& file = args.positionals.at(0);
    auto cluster = load_cluster_or_report(file, io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    std::optional<int> keep;
    if (auto text = args.value("--prune")) {
        auto parsed = parse_keep(*text);
        if (!parsed) {
            return report_failure(io, k_program, parsed.error());
        }
        keep = *parsed;
    }

    // 1. Which image: --image, else the id the lock file gives (unknown without a lock).
    std::optional<std::string> image_id = args.value("--image");
    if (!image_id) {
        auto inputs = image::collect_image_id_inputs(*cluster);
        if (!inputs) {
            return report_failure(io, k_program, inputs.error());
        }
        image_id = inputs->image_id();
    }
    if (image_id && !netboot::tftp::is_plain_name(*image_id)) {
        return report_failure(
            io, k_program,
            {"--image: '" + *image_id + "' is not an image id", util::Errc::invalid_input});
    }
    // CHAP only with a secret file: the node side logs in without one (overlays/README.md).
    std::optional<std::string> chap_file = args.value("--chap-secret-file");
    if (!chap_file) {
        chap_file = env("UHS_CHAP_SECRET_FILE");
    }
    const bool iscsi = cluster->storage.state == config::StateStorage::iscsi;
    const publish::PublishPlan plan = publish::make_publish_plan(
        *cluster, image_id, keep, chap_file && iscsi ? publish::Chap::yes : publish::Chap::no);

    // 2. --dry-run: the plan, nothing read from secrets, nothing contacted.
    if (args.has("--dry-run")) {
        if (args.has("--json")) {
            io.out << publish::to_json(plan).dump(2) << '\n';
        } else {
            io.out << publish::to_text(plan);
        }
        return util::k_exit_ok;
    }
    if (!image_id) {
        return report_failure(
            io, k_program,
            {"the image-id is unknown until the lock exists: run 'uhs-image lock' "
             "and 'uhs-image build', or pass --image ID",
             util::Errc::invalid_input});
    }

    // 3. Everything local is checked before the NAS is contacted.
    const fs::path image_dir = fs::path(args.value("--out").value_or("out")) / *image_id;
    const fs::path rootfs = image_dir / "rootfs.tar";
    std::error_code ec;
    if (!fs::is_regular_file(rootfs, ec)) {
        return report_failure(io, k_program,
                              {rootfs.string() + " does not exist: build the image first (or pass "
                                                 "--out DIR where it was built)",
                               util::Errc::not_found});
    }
    const std::optional<std::string> mount = args.value("--mount");
    if (!mount) {
        return report_failure(io, k_program,
                              {"--mount DIR is needed: where " + plan.images_parent +
                                   " is mounted read-write on this host (the rootfs is extracted "
                                   "into DIR/" +
                                   *image_id + ")",
                               util::Errc::invalid_input});
    }
    std::set<std::string> referenced;
    if (keep) {
        auto refs = referenced_images(*cluster,
                                      args.value("--state").value_or(std::string(k_default_state)));
        if (!refs) {
            return report_failure(io, k_program, refs.error());
        }
        referenced = std::move(*refs);
    }
    auto api_key = publish::read_secret_file(cluster->storage.truenas.api_key_file, "API key");
    if (!api_key) {
        return report_failure(io, k_program,
                              util::with_context(api_key.error(), "storage.truenas.api_key_file"));
    }
    std::optional<publish::Secret> chap;
    if (plan.chap) {
        auto secret = publish::read_secret_file(*chap_file, "CHAP secret");
        if (!secret) {
            return report_failure(io, k_program, secret.error());
        }
        if (secret->reveal().size() < 12 || secret->reveal().size() > 16) {
            return report_failure(io, k_program,
                                  {"CHAP secret file " + *chap_file +
                                       ": TrueNAS takes 12 to 16 characters, this one has " +
                                       std::to_string(secret->reveal().size()),
                                   util::Errc::invalid_input});
        }
        chap = std::move(*secret);
    }
    publish::ClientOptions options;
    auto endpoint = publish::parse_endpoint(args.value("--url").value_or(
        env("UHS_TRUENAS_URL").value_or(cluster->storage.truenas.host)));
    if (!endpoint) {
        return report_failure(io, k_program, endpoint.error());
    }
    options.endpoint = *endpoint;
    options.ca_file = args.value("--ca");
    if (!options.ca_file) {
        options.ca_file = env("UHS_TRUENAS_CA");
    }
    if (auto text = args.value("--timeout")) {
        auto timeout = util::parse_seconds_option("--timeout", *text, 3600);
        if (!timeout) {
            return report_failure(io, k_program, timeout.error());
        }
        options.call_timeout = *timeout;
        options.connect_timeout = std::min(options.connect_timeout, *timeout);
    }

    // 4. Connect (probe the API generation, log in), then the idempotent steps.
    auto api = publish::connect(options, *api_key);
    if (!api) {
        return report_failure(io, k_program, api.error());
    }
    publish::MountedDatasetReceiver receiver(*mount);
    publish::PublishRequest request;
    request.rootfs_tar = rootfs;
    request.chap_secret = chap ? &*chap : nullptr;
    request.published_at = utc_now_micros();
    request.referenced = std::move(referenced);
    if (::isatty(STDERR_FILENO) == 1) {
        request.progress = &io.err;
    }
    auto result = publish::publish(**api, receiver, plan, request);
    if (!result) {
        return report_failure(io, k_program, result.error());
    }
    if (args.has("--json")) {
        io.out << nlohmann::json{{"plan", publish::to_json(plan)},
                                 {"result", publish::to_json(*result)}}
                      .dump(2)
               << '\n';
    } else {
        io.out << "published " << *image_id << " to " << options.endpoint.host_header() << '\n'
               << publish::to_text(*result);
    }
    return util::k_exit_ok;
}

} // namespace

std::vector<util::SubcommandSpec> publish_commands() {
    using util::TakesValue;
    return {
        {
            .name = "publish",
            .summary = "put an image onto TrueNAS: dataset, snapshot, NFS share, per-node iSCSI",
            .arguments =
                "CLUSTER.yaml [--image ID] [--mount DIR] [--dry-run] [--prune KEEP] [--json]",
            .description =
                "Creates DATASET/images/<image-id> (user property uhs:image-id), extracts\n"
                "OUT/<image-id>/rootfs.tar into --mount DIR/<image-id> (DATASET/images mounted\n"
                "read-write over NFS on this host), sets it read-only, snapshots it\n"
                "@uhs-<image-id> and shares it over NFS (ro, maproot root, the cluster subnet).\n"
                "With storage.state iscsi, one zvol DATASET/state/<node> per node and its iSCSI\n"
                "extent, target (its initiator only, from the subnet; CHAP with\n"
                "--chap-secret-file), initiator group and LUN. Every step checks first, so\n"
                "running it again finishes an interrupted publish and otherwise changes nothing.\n"
                "Talks JSON-RPC over wss://HOST/api/current (TrueNAS 25.04+), or REST /api/v2.0\n"
                "(24.10) when the upgrade answers 404; TLS only, certificate verified.\n"
                "--prune KEEP deletes images beyond the KEEP newest that no node serves, can roll\n"
                "back to or has pending in uhs-netboot's tree (--state DIR).",
            .options =
                {
                    {"--image", TakesValue::yes, "image id (default: the one the lock gives)",
                     "ID"},
                    {"--out", TakesValue::yes, "where images were built (default: out)", "DIR"},
                    {"--mount", TakesValue::yes,
                     "DATASET/images as mounted read-write on this host", "DIR"},
                    {"--dry-run", TakesValue::no, "print the plan; contact nothing"},
                    {"--prune", TakesValue::yes,
                     "keep this many newest images, delete older "
                     "ones no node uses",
                     "KEEP"},
                    {"--state", TakesValue::yes,
                     "uhs-netboot's state directory (default /var/lib/uhs-netboot)", "DIR"},
                    {"--chap-secret-file", TakesValue::yes,
                     "require iSCSI CHAP with this secret, mode 0600 (or $UHS_CHAP_SECRET_FILE)",
                     "FILE"},
                    {"--ca", TakesValue::yes,
                     "CA bundle for a self-signed NAS certificate (or $UHS_TRUENAS_CA)", "FILE"},
                    {"--url", TakesValue::yes,
                     "https://HOST[:PORT] instead of storage.truenas.host (or $UHS_TRUENAS_URL)",
                     "URL"},
                    {"--timeout", TakesValue::yes, "seconds per call (default 60)", "SECONDS"},
                    {"--json", TakesValue::no, "print the plan or the result as JSON"},
                },
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_publish,
        },
    };
}

} // namespace uhs::cli
