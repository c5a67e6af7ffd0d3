// SPDX-License-Identifier: Apache-2.0
// `eeprom show|extract|set|plan`: the bootloader configuration inside a pieeprom.bin, and the
// one each node of a cluster needs.
#include "builder/cli/commands.hpp"
#include "builder/cli/firmware_shared.hpp"
#include "builder/config/board.hpp"
#include "builder/image/plan.hpp"
#include "builder/util/fs.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/image.hpp"

#include <charconv>

namespace uhs::cli {

namespace {

using util::Io;
using util::ParsedArgs;

// The single-key options of `eeprom set`, in the order they are applied.
struct KeyOption {
    const char* option;
    const char* key;
    const char* help;
};
constexpr KeyOption k_key_options[] = {
    {"--boot-order", "BOOT_ORDER",
     "set BOOT_ORDER (hex nibbles, e.g. 0xf21: network, SD, restart)"},
    {"--tftp-prefix", "TFTP_PREFIX", "set TFTP_PREFIX (0 serial, 1 TFTP_PREFIX_STR, 2 MAC)"},
    {"--tftp-prefix-str", "TFTP_PREFIX_STR", "set TFTP_PREFIX_STR"},
    {"--tftp-ip", "TFTP_IP", "set TFTP_IP"},
    {"--dhcp-timeout", "DHCP_TIMEOUT", "set DHCP_TIMEOUT (ms, at least 5000)"},
    {"--dhcp-req-timeout", "DHCP_REQ_TIMEOUT", "set DHCP_REQ_TIMEOUT (ms, at least 500)"},
    {"--tftp-file-timeout", "TFTP_FILE_TIMEOUT", "set TFTP_FILE_TIMEOUT (ms, at least 5000)"},
    {"--boot-uart", "BOOT_UART", "set BOOT_UART"},
};

std::optional<eeprom::Image> load_image(const std::string& path, Io& io,
                                        const std::string& command) {
    auto bytes = util::read_file(path);
    if (!bytes) {
        util::report_error(io, command, bytes.error().message, util::k_exit_usage);
        return std::nullopt;
    }
    auto image = eeprom::Image::parse(std::move(*bytes));
    if (!image) {
        util::report_error(io, command, path + ": " + image.error().message, util::k_exit_usage);
        return std::nullopt;
    }
    return std::move(*image);
}

int run_show(const ParsedArgs& args, Io& io) {
    auto image = load_image(args.positionals.at(0), io, "uhs-image eeprom show");
    if (!image) {
        return util::k_exit_usage;
    }
    auto config = image->extract("bootconf.txt");
    if (!config) {
        return util::report_error(io, "uhs-image eeprom show", config.error().message,
                                  util::k_exit_failure);
    }
    io.out << *config;
    return util::k_exit_ok;
}

int run_extract(const ParsedArgs& args, Io& io) {
    const std::string command = "uhs-image eeprom extract";
    auto image = load_image(args.positionals.at(0), io, command);
    if (!image) {
        return util::k_exit_usage;
    }
    auto data = image->extract(*args.value("--file"));
    if (!data) {
        return util::report_error(io, command, data.error().message, util::k_exit_failure);
    }
    if (auto written = util::write_file_atomic(*args.value("--out"), *data); !written) {
        return util::report_error(io, command, written.error().message, util::k_exit_failure);
    }
    return util::k_exit_ok;
}

int run_set(const ParsedArgs& args, Io& io) {
    const std::string command = "uhs-image eeprom set";
    auto image = load_image(*args.value("--in"), io, command);
    if (!image) {
        return util::k_exit_usage;
    }
    std::vector<std::pair<std::string, std::string>> settings;
    for (const KeyOption& k : k_key_options) {
        if (auto value = args.value(k.option)) {
            settings.emplace_back(k.key, *value);
        }
    }
    if (args.has("--config") == !settings.empty()) {
        return util::report_error(io, command,
                                  "give either --config FILE or single keys (--boot-order, "
                                  "--tftp-prefix, ...), not both and not neither",
                                  util::k_exit_usage);
    }
    std::optional<std::int64_t> timestamp;
    if (auto text = args.value("--timestamp")) {
        timestamp = parse_epoch(*text);
        if (!timestamp) {
            return util::report_error(io, command,
                                      "--timestamp: expected a Unix time, got '" + *text + "'",
                                      util::k_exit_usage);
        }
        if (auto stamped = image->set_timestamp(static_cast<std::uint32_t>(*timestamp)); !stamped) {
            return util::report_error(io, command, stamped.error().message, util::k_exit_failure);
        }
    }
    std::string config;
    if (auto file = args.value("--config")) {
        auto text = util::read_file(*file);
        if (!text) {
            return util::report_error(io, command, text.error().message, util::k_exit_usage);
        }
        config = std::move(*text);
        bool bad = false;
        for (const eeprom::Finding& f :
             eeprom::check_bootconf(eeprom::parse_bootconf(config), image->soc())) {
            const bool error = f.severity == eeprom::Severity::error;
            io.err << *file << ": " << (error ? "error: " : "warning: ") << f.message << '\n';
            bad = bad || error;
        }
        if (bad) {
            return util::k_exit_usage;
        }
    } else {
        auto current = image->extract("bootconf.txt");
        auto edited = current ? eeprom::set_settings(*current, settings, image->soc())
                              : util::Result<std::string>(std::unexpected(current.error()));
        if (!edited) {
            return util::report_error(io, command, edited.error().message, util::k_exit_usage);
        }
        config = std::move(*edited);
    }
    if (auto replaced = image->replace_file("bootconf.txt", config); !replaced) {
        return util::report_error(io, command, replaced.error().message, util::k_exit_usage);
    }
    if (auto written = util::write_file_atomic(*args.value("--out"), image->bytes()); !written) {
        return util::report_error(io, command, written.error().message, util::k_exit_failure);
    }
    if (auto sig = args.value("--sig")) {
        // As rpi-eeprom-digest: ts is SOURCE_DATE_EPOCH when set, else now; --timestamp wins.
        std::int64_t ts = std::time(nullptr);
        if (timestamp) {
            ts = *timestamp;
        } else if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) {
            ts = parse_epoch(sde).value_or(ts);
        }
        if (auto written =
                util::write_file_atomic(*sig, eeprom::make_sig(image->bytes(), ts, image->soc()));
            !written) {
            return util::report_error(io, command, written.error().message, util::k_exit_failure);
        }
    }
    return util::k_exit_ok;
}

int run_plan(const ParsedArgs& args, Io& io) {
    auto cluster = load_cluster_or_report(args.positionals.at(0), io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    const auto timeout = tftp_timeout_for(args, *cluster, io, "uhs-image eeprom plan");
    if (!timeout) {
        return util::k_exit_usage;
    }
    io.out << "# TFTP_FILE_TIMEOUT=" << timeout->ms << ": " << timeout->reason
           << ", at a pessimistic 3 MB/s, x1.5, +10 s, kept within "
           << rpiboot::k_default_tftp_file_timeout_ms << "-" << rpiboot::k_max_tftp_file_timeout_ms
           << " ms\n";
    if (timeout->largest > rpiboot::k_block_wrap_bytes) {
        io.out << "# note: that file is over 65535 TFTP blocks at blksize 1468: the bootloader "
                  "must be built on or after 2025-09-23\n";
    }
    if (cluster->network.pin_tftp_server) {
        io.out << "# TFTP_IP: network.pin_tftp_server is true; every boot goes to "
               << cluster->network.server.to_string() << " whatever DHCP names\n";
    } else {
        io.out << "# no TFTP_IP: the server the DHCP answer names is used, so a second boot "
                  "server can take over (network.pin_tftp_server: true pins it)\n";
    }
    io.out
        << "# bootloader image: a CM5's must be built on or after 2025-03-27 (the first whose OS "
           "check honours device_tree=; flash bundle and uhs-netboot eeprom stage refuse older "
           "ones)\n";
    bool first = false;
    for (const config::Node& n : cluster->nodes) {
        if (!config::board_for(n.model).raspberry_pi_firmware()) {
            // A UEFI board boots from its own firmware: there is no EEPROM to plan.
            io.out << (first ? "" : "\n") << "# node " << n.name << " (slot " << n.slot << ", "
                   << config::to_string(n.model) << "): no Raspberry Pi EEPROM\n";
            first = false;
            continue;
        }
        io.out << (first ? "" : "\n") << "# node " << n.name << " (slot " << n.slot << ", "
               << config::to_string(n.model) << ", BCM" << rpiboot::soc_of(n.model) << ")\n"
               << rpiboot::node_bootconf(*cluster, n, timeout->ms);
        first = false;
    }
    return util::k_exit_ok;
}

} // namespace

std::optional<std::int64_t> parse_epoch(const std::string& text) {
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 ||
        value > 0xFFFFFFFFll) {
        return std::nullopt;
    }
    return value;
}

std::optional<TftpTimeout> tftp_timeout_for(const ParsedArgs& args, const config::Cluster& cluster,
                                            Io& io, const std::string& command) {
    namespace fs = std::filesystem;
    std::optional<fs::path> image_dir;
    if (auto given = args.value("--image")) {
        image_dir = *given;
        std::error_code ec;
        if (!fs::is_directory(*image_dir / "boot", ec)) {
            util::report_error(io, command,
                               "--image " + *given + ": no boot/ directory (not a built image)",
                               util::k_exit_usage);
            return std::nullopt;
        }
    } else if (auto plan =
                   image::make_build_plan(cluster, args.value("--images").value_or("out"))) {
        std::error_code ec;
        if (plan->inputs.image_id() && fs::is_directory(plan->image_dir / "boot", ec)) {
            image_dir = plan->image_dir;
        }
    }
    TftpTimeout t;
    if (!image_dir) {
        t.ms = rpiboot::tftp_file_timeout_ms(rpiboot::k_assumed_largest_boot_file);
        t.reason = "no built image found (give --image DIR): assumes a " +
                   std::to_string(rpiboot::k_assumed_largest_boot_file / 1000000) +
                   " MB largest boot file";
        return t;
    }
    std::string largest_path;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(*image_dir / "boot", ec), end; !ec && it != end;
         it.increment(ec)) {
        std::error_code size_ec;
        if (!it->is_regular_file(size_ec)) {
            continue;
        }
        const std::uint64_t size = it->file_size(size_ec);
        const std::string path = it->path().string();
        if (!size_ec && (size > t.largest || (size == t.largest && path < largest_path))) {
            t.largest = size;
            largest_path = path;
        }
    }
    if (ec) {
        util::report_error(io, command, image_dir->string() + "/boot: " + ec.message(),
                           util::k_exit_failure);
        return std::nullopt;
    }
    t.ms = rpiboot::tftp_file_timeout_ms(t.largest);
    t.reason = "largest boot file " + largest_path + " (" + std::to_string(t.largest) + " bytes)";
    return t;
}

util::SubcommandSpec eeprom_command() {
    using util::Repeatable;
    using util::Required;
    using util::TakesValue;
    std::vector<util::OptionSpec> set_options{
        {"--in", TakesValue::yes, "the pieeprom.bin to start from", "IMAGE", Repeatable::no,
         Required::yes},
        {"--out", TakesValue::yes, "where to write the new image", "OUT", Repeatable::no,
         Required::yes},
        {"--config", TakesValue::yes, "replace bootconf.txt with this file", "CONF"},
        {"--timestamp", TakesValue::yes, "set the update timestamp", "EPOCH"},
        {"--sig", TakesValue::yes, "also write the .sig (sha256, ts:, target-soc:)", "OUT.sig"},
    };
    for (const KeyOption& k : k_key_options) {
        set_options.push_back({k.option, TakesValue::yes, k.help, k.key});
    }
    return {
        .name = "eeprom",
        .summary = "read and write the CM5/Pi bootloader configuration in a pieeprom.bin",
        .children =
            {
                {
                    .name = "show",
                    .summary = "print the image's bootconf.txt",
                    .arguments = "IMAGE",
                    .min_positionals = 1,
                    .max_positionals = 1,
                    .run = run_show,
                },
                {
                    .name = "extract",
                    .summary = "write one file of the image (bootconf.txt, bootcode.bin, ...)",
                    .arguments = "IMAGE --file NAME --out F",
                    .options = {{"--file", TakesValue::yes, "the file in the image", "NAME",
                                 Repeatable::no, Required::yes},
                                {"--out", TakesValue::yes, "where to write it", "F", Repeatable::no,
                                 Required::yes}},
                    .min_positionals = 1,
                    .max_positionals = 1,
                    .run = run_extract,
                },
                {
                    .name = "set",
                    .summary = "write a copy of the image with a new or edited bootconf.txt",
                    .arguments = "--in IMAGE (--config CONF | --boot-order 0xf21 ...) --out "
                                 "OUT [--timestamp EPOCH] [--sig OUT.sig]",
                    .description =
                        "Byte-identical to rpi-eeprom-config for the same inputs. Single keys\n"
                        "edit the image's current config in place, keeping its other lines.",
                    .options = set_options,
                    .run = run_set,
                },
                {
                    .name = "plan",
                    .summary = "print the bootconf.txt each node needs for the cluster's netboot",
                    .arguments = "CLUSTER.yaml [--image DIR | --images OUT]",
                    .description =
                        "TFTP_FILE_TIMEOUT follows the largest file in the built image's\n"
                        "boot/ (--image DIR, else OUT/<image-id> as `uhs-image plan` names\n"
                        "it, --images OUT, default out); without one a 200 MB file is\n"
                        "assumed.\n"
                        "TFTP_IP is written only with network.pin_tftp_server: true.",
                    .options = {{"--image", TakesValue::yes, "the built image directory", "DIR"},
                                {"--images", TakesValue::yes,
                                 "where built images are (default out)", "OUT"}},
                    .min_positionals = 1,
                    .max_positionals = 1,
                    .run = run_plan,
                },
            },
    };
}

} // namespace uhs::cli
