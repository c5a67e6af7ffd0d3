// SPDX-License-Identifier: Apache-2.0
#include "netboot/uhs_netboot.hpp"

#include "builder/config/cluster.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "firmware/eeprom/bootloader_age.hpp"
#include "netboot/eeprom/stage.hpp"
#include "netboot/node_tree.hpp"
#include "netboot/serve.hpp"
#include "netboot/tftp/tree.hpp"

#include <charconv>
#include <ctime>

namespace uhs::netboot {

namespace {

// Which TFTP directories the boot service answers for, per node: the operator's check that
// every module in the carrier will be recognised before powering it on.
int run_check(const util::ParsedArgs& args, util::Io& io) {
    const std::string& file = args.positionals.at(0);
    auto cluster = config::load_cluster(
        file, {config::default_overlay_search_path(), config::CheckKeyrings::no});
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

std::optional<config::Cluster> load_or_report(const std::string& file, util::Io& io) {
    auto cluster = config::load_cluster(
        file, {config::default_overlay_search_path(), config::CheckKeyrings::no});
    if (!cluster) {
        for (const auto& d : cluster.error()) {
            io.err << d.to_string() << '\n';
        }
        return std::nullopt;
    }
    return std::move(*cluster);
}

std::optional<std::uint16_t> parse_port(const std::string& text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

// "ADDRESS:PORT" into its parts.
bool parse_endpoint(const std::string& text, std::string& address, std::uint16_t& port) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    auto p = parse_port(text.substr(colon + 1));
    if (!p || !config::Ipv4::parse(text.substr(0, colon))) {
        return false;
    }
    address = text.substr(0, colon);
    port = *p;
    return true;
}

// The TFTP directories of node `name`, or an error printed to io.err.
std::optional<std::vector<std::string>> directories_of(const config::Cluster& cluster,
                                                       const std::string& name, util::Io& io) {
    for (const config::Node& node : cluster.nodes) {
        if (node.name != name) {
            continue;
        }
        std::vector<std::string> dirs;
        for (const auto& d : {node.serial_directory(), node.mac_directory()}) {
            if (d) {
                dirs.push_back(*d);
            }
        }
        if (dirs.empty()) {
            io.err << "uhs-netboot: error: node " << name
                   << " has neither serial nor MAC; run 'uhs-image enroll'\n";
            return std::nullopt;
        }
        return dirs;
    }
    io.err << "uhs-netboot: error: " << cluster.file.string() << ": no node named '" << name
           << "'\n";
    return std::nullopt;
}

std::filesystem::path state_dir(const util::ParsedArgs& args) {
    return args.value("--state").value_or(k_default_state_dir);
}

// Switches `dirs` to `image` now when no daemon holds the state directory, else records a
// pending switch the daemon applies at the node's next DISCOVER.
int switch_or_defer(const tftp::Tree& tree, const std::filesystem::path& state,
                    const std::string& node, const std::vector<std::string>& dirs,
                    const std::string& image, util::Io& io, std::string_view program) {
    auto lock = StateLock::try_acquire(state);
    if (!lock) {
        return util::report_error(io, program, lock.error().message, util::k_exit_failure);
    }
    for (const std::string& dir : dirs) {
        const auto st = *lock ? tree.switch_directory(dir, image) : tree.set_pending(dir, image);
        if (!st) {
            return util::report_error(io, program, st.error().message, util::k_exit_failure);
        }
        io.out << dir << " -> " << image;
        if (!*lock) {
            io.out << " (pending: the running daemon applies it at " << node
                   << "'s next DHCP DISCOVER)";
        }
        io.out << '\n';
    }
    return util::k_exit_ok;
}

int run_switch(const util::ParsedArgs& args, util::Io& io) {
    const auto cluster = load_or_report(*args.value("--cluster"), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const auto dirs = directories_of(*cluster, args.positionals.at(0), io);
    if (!dirs) {
        return util::k_exit_usage;
    }
    const std::string& image = args.positionals.at(1);
    const tftp::Tree tree(state_dir(args) / "tftproot");
    if (auto st = tree.import_image(*args.value("--images"), image); !st) {
        return util::report_error(io, "uhs-netboot switch", st.error().message,
                                  st.error().code == util::Errc::invalid_input
                                      ? util::k_exit_usage
                                      : util::k_exit_failure);
    }
    return switch_or_defer(tree, state_dir(args), args.positionals.at(0), *dirs, image, io,
                           "uhs-netboot switch");
}

int run_rollback(const util::ParsedArgs& args, util::Io& io) {
    const auto cluster = load_or_report(*args.value("--cluster"), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const auto dirs = directories_of(*cluster, args.positionals.at(0), io);
    if (!dirs) {
        return util::k_exit_usage;
    }
    const tftp::Tree tree(state_dir(args) / "tftproot");
    auto lock = StateLock::try_acquire(state_dir(args));
    if (!lock) {
        return util::report_error(io, "uhs-netboot rollback", lock.error().message,
                                  util::k_exit_failure);
    }
    for (const std::string& dir : *dirs) {
        if (*lock) {
            auto image = tree.rollback_directory(dir);
            if (!image) {
                return util::report_error(io, "uhs-netboot rollback", image.error().message,
                                          util::k_exit_failure);
            }
            io.out << dir << " -> " << *image << '\n';
            continue;
        }
        const auto previous = tree.previous_image(dir);
        if (!previous) {
            return util::report_error(io, "uhs-netboot rollback",
                                      dir + ": no previous image to roll back to",
                                      util::k_exit_failure);
        }
        if (auto st = tree.set_pending(dir, *previous); !st) {
            return util::report_error(io, "uhs-netboot rollback", st.error().message,
                                      util::k_exit_failure);
        }
        io.out << dir << " -> " << *previous << " (pending: the running daemon applies it at "
               << args.positionals.at(0) << "'s next DHCP DISCOVER)\n";
    }
    return util::k_exit_ok;
}

const config::Node* find_node(const config::Cluster& cluster, const std::string& name) {
    for (const config::Node& node : cluster.nodes) {
        if (node.name == name) {
            return &node;
        }
    }
    return nullptr;
}

std::string stamp(std::uint32_t ts) {
    return uhs::eeprom::utc_date(ts) + " (" + std::to_string(ts) + ")";
}

// Stages pieeprom.upd/.sig in the node's TFTP directories for its bootloader's self-update.
// On uhs-netboot, not uhs-image: it writes the boot service's own tree (as switch does) and is
// checked against what the node reported to that service.
int run_eeprom_stage(const util::ParsedArgs& args, util::Io& io) {
    const std::string program = "uhs-netboot eeprom stage";
    const auto cluster = load_or_report(*args.value("--cluster"), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const std::string& name = args.positionals.at(0);
    const config::Node* node = find_node(*cluster, name);
    const auto dirs = directories_of(*cluster, name, io);
    if (!node || !dirs) {
        return util::k_exit_usage;
    }
    eeprom::StageInput input;
    auto image = util::read_file(*args.value("--image"));
    if (!image) {
        return util::report_error(io, program, image.error().message, util::k_exit_usage);
    }
    input.image = std::move(*image);
    if (auto sig_file = args.value("--sig")) {
        auto sig = util::read_file(*sig_file);
        if (!sig) {
            return util::report_error(io, program, sig.error().message, util::k_exit_usage);
        }
        input.sig = std::move(*sig);
    }
    if (auto text = args.value("--timestamp")) {
        if (input.sig) {
            return util::report_error(
                io, program,
                "--timestamp and --sig: the .sig already says its ts:", util::k_exit_usage);
        }
        std::int64_t ts = 0;
        auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), ts);
        if (ec != std::errc() || ptr != text->data() + text->size()) {
            return util::report_error(io, program,
                                      "--timestamp: expected a Unix time, got '" + *text + "'",
                                      util::k_exit_usage);
        }
        input.timestamp = ts;
    }
    input.now = static_cast<std::int64_t>(std::time(nullptr));
    input.model = node->model;
    input.force = args.has("--force");
    const eeprom::Ledger ledger(state_dir(args));
    input.running = ledger.read_report(name);
    auto plan = eeprom::plan_stage(input);
    if (!plan) {
        return util::report_error(io, program, *args.value("--image") + ": " + plan.error().message,
                                  util::k_exit_failure);
    }
    if (auto st = eeprom::stage(state_dir(args) / "tftproot", *dirs, *plan); !st) {
        return util::report_error(io, program, st.error().message, util::k_exit_failure);
    }
    for (const std::string& note : plan->notes) {
        io.err << program << ": note: " << note << '\n';
    }
    for (const std::string& dir : *dirs) {
        io.out << dir << "/pieeprom.upd: staged build " << stamp(plan->build) << ", update ts "
               << plan->ts << ", sha256 " << plan->sha256.substr(0, 16) << '\n';
    }
    io.out << "the bootloader takes it at " << name
           << "'s next network boot (ENABLE_SELF_UPDATE=1); `uhs-netboot eeprom status " << name
           << "` shows when it was fetched and what the node runs\n";
    return util::k_exit_ok;
}

int run_eeprom_unstage(const util::ParsedArgs& args, util::Io& io) {
    const auto cluster = load_or_report(*args.value("--cluster"), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const auto dirs = directories_of(*cluster, args.positionals.at(0), io);
    if (!dirs) {
        return util::k_exit_usage;
    }
    if (auto st = eeprom::unstage(state_dir(args) / "tftproot", *dirs); !st) {
        return util::report_error(io, "uhs-netboot eeprom unstage", st.error().message,
                                  util::k_exit_failure);
    }
    for (const std::string& dir : *dirs) {
        io.out << dir << ": nothing staged\n";
    }
    return util::k_exit_ok;
}

// Per node: what is staged, when the bootloader fetched it, what the node last reported, and
// whether the report shows the staged update running ("applied").
int run_eeprom_status(const util::ParsedArgs& args, util::Io& io) {
    const auto cluster = load_or_report(*args.value("--cluster"), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const std::filesystem::path root = state_dir(args) / "tftproot";
    const eeprom::Ledger ledger(state_dir(args));
    bool found = false;
    for (const config::Node& node : cluster->nodes) {
        if (!args.positionals.empty() && node.name != args.positionals.at(0)) {
            continue;
        }
        found = true;
        io.out << node.name << ":\n";
        const auto report = ledger.read_report(node.name);
        std::optional<eeprom::Staged> staged_any;
        for (const auto& dir : {node.serial_directory(), node.mac_directory()}) {
            if (!dir) {
                continue;
            }
            const auto staged = eeprom::staged(root, *dir);
            io.out << "  " << *dir << "/: ";
            if (!staged) {
                io.out << "nothing staged\n";
            } else {
                staged_any = staged;
                io.out << "staged build "
                       << (staged->build ? stamp(*staged->build) : std::string("?"))
                       << ", update ts "
                       << (staged->ts ? std::to_string(*staged->ts) : std::string("?"))
                       << ", sha256 " << staged->sha256.substr(0, 16) << '\n';
            }
            if (auto fetched = ledger.last_fetch(*dir)) {
                io.out << "  " << *dir << "/: pieeprom.upd fetched at unix ms " << *fetched << '\n';
            }
        }
        if (!report) {
            io.out << "  reported: nothing yet (the node's uhs-bootloader-report has not posted)\n";
            continue;
        }
        io.out << "  reported at " << report->received_unix << ": build "
               << stamp(report->build_timestamp) << ", update ts "
               << (report->update_timestamp ? std::to_string(*report->update_timestamp)
                                            : std::string("?"))
               << (report->version.empty() ? std::string() : ", version " + report->version)
               << '\n';
        if (report->config) {
            io.out << "  config:\n";
            for (std::string_view line : util::split(*report->config, '\n')) {
                if (!line.empty()) {
                    io.out << "    " << line << '\n';
                }
            }
        }
        if (staged_any && staged_any->build && staged_any->ts) {
            const bool applied =
                report->build_timestamp == *staged_any->build && report->update_timestamp &&
                static_cast<std::int64_t>(*report->update_timestamp) == *staged_any->ts;
            io.out << "  staged update: "
                   << (applied ? "applied (the node runs its build and update timestamp; "
                                 "`uhs-netboot eeprom unstage` removes it)"
                               : "not running yet")
                   << '\n';
        }
    }
    if (!found) {
        io.err << "uhs-netboot: error: " << cluster->file.string() << ": no node named '"
               << args.positionals.at(0) << "'\n";
        return util::k_exit_usage;
    }
    return util::k_exit_ok;
}

int run_serve(const util::ParsedArgs& args, util::Io& io) {
    ServeOptions o;
    o.cluster_file = args.positionals.at(0);
    o.images_dir = *args.value("--images"); // required by the table
    o.state_dir = state_dir(args);
    o.image = args.value("--image");
    o.interface = args.value("--interface");
    o.tftp_address = args.value("--tftp-address");
    for (auto [option, port] :
         {std::pair{"--tftp-port", &o.tftp_port}, std::pair{"--dhcp-port", &o.dhcp_port},
          std::pair{"--pxe-port", &o.pxe_port}}) {
        if (auto v = args.value(option)) {
            auto p = parse_port(*v);
            if (!p) {
                return util::report_error(io, "uhs-netboot serve",
                                          std::string(option) + ": bad port '" + *v + "'",
                                          util::k_exit_usage);
            }
            *port = *p;
        }
    }
    if (auto v = args.value("--http")) {
        if (!parse_endpoint(*v, o.http_address, o.http_port)) {
            return util::report_error(io, "uhs-netboot serve",
                                      "--http: expected IPV4:PORT, got '" + *v + "'",
                                      util::k_exit_usage);
        }
    }
    for (const std::string& relay : args.values("--relay")) {
        auto ip = config::Ipv4::parse(relay);
        if (!ip) {
            return util::report_error(io, "uhs-netboot serve",
                                      "--relay: bad IPv4 address '" + relay + "'",
                                      util::k_exit_usage);
        }
        o.relays.push_back(ip->value);
    }
    if (args.has("--allow-unknown")) {
        o.allow_unknown = dhcp::AllowUnknown::yes;
    }
    if (auto v = args.value("--tftpd")) {
        o.tftpd = *v;
    }
    if (auto v = args.value("--tftpd-user")) {
        o.tftpd_user = *v;
    }
    o.user = args.value("--user");
    return serve(o, io.err);
}

} // namespace

std::vector<util::SubcommandSpec> netboot_commands() {
    std::vector<util::SubcommandSpec> table{
        {
            .name = "check",
            .summary = "show which TFTP directories each node of a cluster will be served from",
            .arguments = "CLUSTER.yaml",
            .description = "Exits 1 when a node has neither serial nor MAC (it could not boot).",
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_check,
        },
        {
            .name = "serve",
            .summary = "run the boot service: proxyDHCP, in.tftpd, /status and /metrics",
            .arguments = "CLUSTER.yaml --images DIR [options]",
            .description =
                "Publishes every enrolled node's TFTP directory from the built images in DIR,\n"
                "starts and supervises in.tftpd on the tree, answers the Raspberry Pi\n"
                "bootloader's DHCP DISCOVERs (and arm64 UEFI PXE clients of uefi-arm64 nodes)\n"
                "as a proxy (never handing out addresses) and serves\n"
                "GET /status and GET /metrics. SIGHUP reloads; SIGTERM stops cleanly.",
            .options =
                {
                    {"--images", util::TakesValue::yes, "built images (OUT of uhs-image build)",
                     "DIR", util::Repeatable::no, util::Required::yes},
                    {"--state", util::TakesValue::yes,
                     "state directory holding tftproot/ (default /var/lib/uhs-netboot)", "DIR"},
                    {"--image", util::TakesValue::yes, "image for nodes not published yet", "ID"},
                    {"--interface", util::TakesValue::yes, "DHCP interface (default: cluster's)",
                     "IF"},
                    {"--tftp-address", util::TakesValue::yes,
                     "TFTP address (default: cluster's network.server)", "IPV4"},
                    {"--tftp-port", util::TakesValue::yes, "TFTP port (default 69)", "PORT"},
                    {"--dhcp-port", util::TakesValue::yes, "DHCP server port (default 67)", "PORT"},
                    {"--pxe-port", util::TakesValue::yes,
                     "PXE boot server port for UEFI clients (default 4011)", "PORT"},
                    {"--http", util::TakesValue::yes, "status address (default 127.0.0.1:9469)",
                     "IPV4:PORT"},
                    {"--allow-unknown", util::TakesValue::no, "answer Pis not in the cluster file"},
                    {"--relay", util::TakesValue::yes,
                     "answer DISCOVERs relayed by this DHCP relay (giaddr) through it", "IPV4",
                     util::Repeatable::yes},
                    {"--tftpd", util::TakesValue::yes,
                     "in.tftpd binary (default /usr/sbin/in.tftpd)", "PATH"},
                    {"--tftpd-user", util::TakesValue::yes, "user in.tftpd drops to (default tftp)",
                     "USER"},
                    {"--user", util::TakesValue::yes,
                     "run as USER once sockets are bound (keeps only the needed capabilities)",
                     "USER"},
                },
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_serve,
        },
        {
            .name = "switch",
            .summary = "point a node's TFTP directories at another image, atomically",
            .arguments = "NODE IMAGE-ID --cluster CLUSTER.yaml --images DIR [--state DIR]",
            .description = "Each directory is a symlink renamed over in one step: a request sees\n"
                           "the old image or the new one, never a mixture of one file set.",
            .options =
                {
                    {"--cluster", util::TakesValue::yes, "the cluster file", "FILE",
                     util::Repeatable::no, util::Required::yes},
                    {"--images", util::TakesValue::yes, "built images", "DIR", util::Repeatable::no,
                     util::Required::yes},
                    {"--state", util::TakesValue::yes, "state directory", "DIR"},
                },
            .min_positionals = 2,
            .max_positionals = 2,
            .run = run_switch,
        },
        {
            .name = "rollback",
            .summary = "put a node back on the image it ran before the last switch",
            .arguments = "NODE --cluster CLUSTER.yaml [--state DIR]",
            .options =
                {
                    {"--cluster", util::TakesValue::yes, "the cluster file", "FILE",
                     util::Repeatable::no, util::Required::yes},
                    {"--state", util::TakesValue::yes, "state directory", "DIR"},
                },
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_rollback,
        },
    };
    const std::vector<util::OptionSpec> cluster_state{
        {"--cluster", util::TakesValue::yes, "the cluster file", "FILE", util::Repeatable::no,
         util::Required::yes},
        {"--state", util::TakesValue::yes, "state directory", "DIR"},
    };
    auto stage_options = cluster_state;
    stage_options.push_back({"--image", util::TakesValue::yes, "the pieeprom.bin to stage", "FILE",
                             util::Repeatable::no, util::Required::yes});
    stage_options.push_back(
        {"--sig", util::TakesValue::yes, "its .sig (rpi-eeprom-digest); default: made", "FILE"});
    stage_options.push_back({"--timestamp", util::TakesValue::yes,
                             "update timestamp (default: now; must be newer than the node's)",
                             "EPOCH"});
    stage_options.push_back({"--force", util::TakesValue::no,
                             "stage although the node's bootloader is unknown or newer"});
    table.push_back({
        .name = "eeprom",
        .summary = "change nodes' bootloader EEPROMs over the network (self-update)",
        .children =
            {
                {
                    .name = "stage",
                    .summary = "serve pieeprom.upd/.sig to a node: its bootloader updates itself "
                               "at the next network boot",
                    .arguments = "NODE --image pieeprom.bin [--sig F] --cluster CLUSTER.yaml",
                    .description =
                        "Refuses an update whose config lacks ENABLE_SELF_UPDATE=1, a CM5 update\n"
                        "older than 2025-03-27, and one the node's bootloader would skip or\n"
                        "ignore (from the node's last report); --force only when the node has\n"
                        "not reported, or to downgrade.",
                    .options = stage_options,
                    .min_positionals = 1,
                    .max_positionals = 1,
                    .run = run_eeprom_stage,
                },
                {
                    .name = "unstage",
                    .summary = "stop serving a node's staged update",
                    .arguments = "NODE --cluster CLUSTER.yaml [--state DIR]",
                    .options = cluster_state,
                    .min_positionals = 1,
                    .max_positionals = 1,
                    .run = run_eeprom_unstage,
                },
                {
                    .name = "status",
                    .summary = "staged, fetched and reported bootloader per node",
                    .arguments = "[NODE] --cluster CLUSTER.yaml [--state DIR]",
                    .options = cluster_state,
                    .min_positionals = 0,
                    .max_positionals = 1,
                    .run = run_eeprom_status,
                },
            },
    });
    return table;
}

int run_uhs_netboot(std::span<const std::string> args, util::Io& io) {
    return util::run_program("uhs-netboot", k_netboot_about, netboot_commands(), args, io);
}

} // namespace uhs::netboot
