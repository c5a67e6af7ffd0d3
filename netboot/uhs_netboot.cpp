// SPDX-License-Identifier: Apache-2.0
#include "netboot/uhs_netboot.hpp"

#include "builder/config/cluster.hpp"
#include "builder/util/version.hpp"
#include "netboot/serve.hpp"
#include "netboot/tftp/tree.hpp"

#include <charconv>

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

std::optional<config::Cluster> load_or_report(const std::string& file, util::Io& io) {
    auto cluster = config::load_cluster(file, {config::default_overlay_search_path()});
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
    return util::run_subcommands("uhs-netboot",
                                 "The LAN boot service for uhs nodes (proxyDHCP + tftp-hpa).",
                                 table, args, io);
}

} // namespace uhs::netboot
