// SPDX-License-Identifier: Apache-2.0
// `eeprom show|extract|set|plan`, `flash bundle|usb`, `enroll`: the bootloader configuration
// inside a pieeprom.bin, and getting it onto a CM5 over USB.
#include "builder/cli/commands.hpp"
#include "builder/image/plan.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/node_boot.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/image.hpp"
#include "firmware/rpiboot/enroll.hpp"
#include "firmware/rpiboot/plan.hpp"
#include "firmware/rpiboot/protocol.hpp"
#include "firmware/rpiboot/usb_transport.hpp"

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <regex>

#include <sys/stat.h>

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

std::optional<std::int64_t> parse_epoch(const std::string& text) {
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 ||
        value > 0xFFFFFFFFll) {
        return std::nullopt;
    }
    return value;
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

// The cluster and the node a flash/enroll command works on (--node NAME or --slot N).
struct Target {
    config::Cluster cluster;
    const config::Node* node = nullptr;
};

std::optional<Target> load_target(const ParsedArgs& args, Io& io, const std::string& command,
                                  bool node_required) {
    auto cluster = load_cluster_or_report(args.positionals.at(0), io);
    if (!cluster) {
        return std::nullopt;
    }
    Target target{std::move(*cluster), nullptr};
    const auto name = args.value("--node");
    const auto slot = args.value("--slot");
    if (name && slot) {
        util::report_error(io, command, "give --node or --slot, not both", util::k_exit_usage);
        return std::nullopt;
    }
    for (const config::Node& n : target.cluster.nodes) {
        if ((name && n.name == *name) || (slot && std::to_string(n.slot) == *slot)) {
            target.node = &n;
        }
    }
    if ((name || slot) && !target.node) {
        util::report_error(io, command,
                           name ? "no node named '" + *name + "' in " + args.positionals.at(0)
                                : "no node in slot " + *slot + " in " + args.positionals.at(0),
                           util::k_exit_usage);
        return std::nullopt;
    }
    if (!target.node && node_required) {
        util::report_error(io, command, "give --node NAME or --slot N", util::k_exit_usage);
        return std::nullopt;
    }
    if (!target.node) {
        // Every node of a SoC gets the same bootconf.txt: any BCM2712 node will do.
        for (const config::Node& n : target.cluster.nodes) {
            if (rpiboot::soc_of(n.model) == 2712) {
                target.node = &n;
                break;
            }
        }
        if (!target.node) {
            util::report_error(io, command, "the cluster has no BCM2712 node to flash",
                               util::k_exit_usage);
            return std::nullopt;
        }
    }
    return target;
}

// --recovery/--eeprom, else --firmware-dir, else $UHS_FIRMWARE_DIR, else the rpi-eeprom
// package's directory. The timestamp: --timestamp, else SOURCE_DATE_EPOCH, else the date in
// the base image's name (pieeprom-YYYY-MM-DD.bin, midnight UTC), else its mtime: never the
// clock, so the same inputs give the same bundle.
std::optional<rpiboot::BundleInputs> bundle_inputs(const ParsedArgs& args, Io& io,
                                                   const std::string& command) {
    rpiboot::BundleInputs inputs;
    if (!args.has("--recovery") || !args.has("--eeprom")) {
        std::string dir = "/usr/lib/firmware/raspberrypi/bootloader-2712/latest";
        if (const char* env = std::getenv("UHS_FIRMWARE_DIR"); env && *env) {
            dir = env;
        }
        dir = args.value("--firmware-dir").value_or(dir);
        auto found = rpiboot::find_firmware(dir);
        if (!found) {
            util::report_error(io, command, found.error().message, util::k_exit_usage);
            return std::nullopt;
        }
        inputs = *found;
    }
    if (auto r = args.value("--recovery")) {
        inputs.recovery_bin = *r;
    }
    if (auto e = args.value("--eeprom")) {
        inputs.base_eeprom = *e;
    }
    std::optional<std::int64_t> ts;
    if (auto text = args.value("--timestamp")) {
        ts = parse_epoch(*text);
        if (!ts) {
            util::report_error(io, command,
                               "--timestamp: expected a Unix time, got '" + *text + "'",
                               util::k_exit_usage);
            return std::nullopt;
        }
    } else if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
        ts = parse_epoch(sde);
        if (!ts) {
            util::report_error(io, command,
                               std::string("SOURCE_DATE_EPOCH is not a Unix time: ") + sde,
                               util::k_exit_usage);
            return std::nullopt;
        }
    } else {
        std::smatch m;
        const std::string name = inputs.base_eeprom.filename().string();
        static const std::regex k_dated("pieeprom-([0-9]{4})-([0-9]{2})-([0-9]{2})\\.bin");
        if (std::regex_match(name, m, k_dated)) {
            std::tm tm{};
            tm.tm_year = std::stoi(m[1]) - 1900;
            tm.tm_mon = std::stoi(m[2]) - 1;
            tm.tm_mday = std::stoi(m[3]);
            ts = static_cast<std::int64_t>(timegm(&tm));
        } else if (struct stat st{}; ::stat(inputs.base_eeprom.c_str(), &st) == 0) {
            ts = static_cast<std::int64_t>(st.st_mtime);
        } else {
            ts = 0;
        }
    }
    inputs.timestamp = *ts;
    return inputs;
}

// TFTP_FILE_TIMEOUT and why: from the largest file under a built image's boot/ (--image DIR,
// else the image `uhs-image plan` names under --images, default out/, when it is built), else
// from k_assumed_largest_boot_file.
struct TftpTimeout {
    std::uint32_t ms = rpiboot::k_default_tftp_file_timeout_ms;
    std::uint64_t largest = 0; // bytes, 0 when assumed
    std::string reason;
};

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
        if (rpiboot::soc_of(n.model) == 0) {
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

int run_bundle(const ParsedArgs& args, Io& io) {
    const std::string command = "uhs-image flash bundle";
    auto target = load_target(args, io, command, true);
    if (!target) {
        return util::k_exit_usage;
    }
    auto inputs = bundle_inputs(args, io, command);
    if (!inputs) {
        return util::k_exit_usage;
    }
    const auto timeout = tftp_timeout_for(args, target->cluster, io, command);
    if (!timeout) {
        return util::k_exit_usage;
    }
    inputs->tftp_file_timeout = timeout->ms;
    inputs->largest_boot_file = timeout->largest;
    io.err << command << ": TFTP_FILE_TIMEOUT=" << timeout->ms << " (" << timeout->reason << ")\n";
    const std::string out = *args.value("--out");
    if (auto written = rpiboot::write_bundle(target->cluster, *target->node, *inputs, out);
        !written) {
        return util::report_error(io, command, written.error().message,
                                  written.error().code == util::Errc::invalid_input
                                      ? util::k_exit_usage
                                      : util::k_exit_failure);
    }
    io.out << out << ": recovery bundle for " << target->node->name
           << " (bootcode5.bin, config.txt, boot.conf, pieeprom.bin, pieeprom.sig)\n";
    return util::k_exit_ok;
}

// Builds (or takes, with --bundle) the bundle and runs rpiboot over libusb.
std::optional<rpiboot::FlashResult> flash_node(const ParsedArgs& args, Io& io,
                                               const std::string& command, const Target& target,
                                               int& exit_code) {
    exit_code = util::k_exit_usage;
    std::optional<util::TempDir> temp;
    std::filesystem::path bundle;
    if (auto given = args.value("--bundle")) {
        bundle = *given;
    } else {
        auto inputs = bundle_inputs(args, io, command);
        if (!inputs) {
            return std::nullopt;
        }
        const auto timeout = tftp_timeout_for(args, target.cluster, io, command);
        if (!timeout) {
            return std::nullopt;
        }
        inputs->tftp_file_timeout = timeout->ms;
        inputs->largest_boot_file = timeout->largest;
        auto dir = util::TempDir::create("uhs-flash-");
        if (!dir) {
            exit_code = util::report_error(io, command, dir.error().message, util::k_exit_failure);
            return std::nullopt;
        }
        temp.emplace(std::move(*dir));
        bundle = temp->path();
        if (auto written = rpiboot::write_bundle(target.cluster, *target.node, *inputs, bundle);
            !written) {
            util::report_error(io, command, written.error().message, util::k_exit_usage);
            return std::nullopt;
        }
    }
    auto transport = rpiboot::make_usb_transport();
    if (!transport) {
        exit_code =
            util::report_error(io, command, transport.error().message, util::k_exit_failure);
        return std::nullopt;
    }
    rpiboot::FlashOptions options;
    if (auto wait = args.value("--wait")) {
        auto seconds = parse_epoch(*wait);
        if (!seconds || *seconds == 0) {
            util::report_error(io, command, "--wait: expected seconds, got '" + *wait + "'",
                               util::k_exit_usage);
            return std::nullopt;
        }
        options.wait_rom = std::chrono::seconds(*seconds);
    }
    auto result = rpiboot::flash(**transport, bundle, options,
                                 [&](std::string_view line) { io.err << "  " << line << '\n'; });
    if (!result) {
        exit_code = util::report_error(io, command, result.error().message, util::k_exit_failure);
        return std::nullopt;
    }
    exit_code = util::k_exit_ok;
    return std::move(*result);
}

int run_usb(const ParsedArgs& args, Io& io) {
    const std::string command = "uhs-image flash usb";
    auto target = load_target(args, io, command, false);
    if (!target) {
        return util::k_exit_usage;
    }
    int exit_code = util::k_exit_ok;
    auto result = flash_node(args, io, command, *target, exit_code);
    if (!result) {
        return exit_code;
    }
    io.out << "flashed: serial " << (result->serial.empty() ? "(not reported)" : result->serial)
           << ", MAC " << result->mac.value_or("(not reported)") << '\n';
    if (args.has("--node") || args.has("--slot")) {
        const auto& enrolled = target->node->serial;
        if (enrolled && !result->serial.empty() && *enrolled != result->serial) {
            io.err << command << ": warning: node " << target->node->name
                   << " is enrolled with serial " << *enrolled << ", this module is "
                   << result->serial << " (run `uhs-image enroll` to record it)\n";
        }
    }
    return util::k_exit_ok;
}

int run_enroll(const ParsedArgs& args, Io& io) {
    const std::string command = "uhs-image enroll";
    auto target = load_target(args, io, command, true);
    if (!target) {
        return util::k_exit_usage;
    }
    rpiboot::Identity identity;
    if (auto serial = args.value("--serial")) {
        identity.serial = *serial;
        identity.mac = args.value("--mac");
    } else {
        if (args.has("--mac")) {
            return util::report_error(io, command, "--mac needs --serial", util::k_exit_usage);
        }
        int exit_code = util::k_exit_ok;
        auto result = flash_node(args, io, command, *target, exit_code);
        if (!result) {
            return exit_code;
        }
        if (result->serial.empty()) {
            return util::report_error(io, command,
                                      "the module did not report a serial; give --serial",
                                      util::k_exit_failure);
        }
        identity.serial = result->serial;
        identity.mac = result->mac;
    }
    const std::string node = target->node->name;
    if (auto done = rpiboot::enroll(args.positionals.at(0), node, identity); !done) {
        return util::report_error(io, command, done.error().message, util::k_exit_usage);
    }
    io.out << "enrolled " << node << " (slot " << target->node->slot << "): serial "
           << util::to_lower(identity.serial);
    if (identity.mac) {
        io.out << ", MAC " << util::to_lower(*identity.mac);
    }
    io.out << '\n';
    // A module swap: the node keeps its name, so its state volume, iSCSI target and initiator
    // name (all derived from the name) stay; only the boot directories move.
    const auto& old_serial = target->node->serial;
    if (old_serial && *old_serial != util::to_lower(identity.serial)) {
        io.out << "  " << node << " was serial " << *old_serial
               << ": its state volume stays (iSCSI target "
               << bootcfg::iscsi_target_iqn(target->cluster, *target->node)
               << "), so the new module comes up as " << node
               << ". Next: `uhs-image build` (rewrites nodes/ of the built image, same image-id), "
                  "then restart uhs-netboot serve and power the module on.\n";
    }
    return util::k_exit_ok;
}

} // namespace

constexpr std::string_view k_firmware_help =
    "Firmware: --recovery and --eeprom, else recovery.bin and the newest pieeprom-*.bin in\n"
    "--firmware-dir, $UHS_FIRMWARE_DIR or /usr/lib/firmware/raspberrypi/bootloader-2712/latest\n"
    "(the rpi-eeprom package). Timestamp: --timestamp, SOURCE_DATE_EPOCH, else the image's date.";

static std::vector<util::OptionSpec> with_firmware_options(std::vector<util::OptionSpec> options) {
    using util::TakesValue;
    options.push_back({"--recovery", TakesValue::yes, "the BCM2712 recovery.bin", "FILE"});
    options.push_back({"--eeprom", TakesValue::yes, "the base pieeprom.bin", "FILE"});
    options.push_back({"--firmware-dir", TakesValue::yes, "where to find both", "DIR"});
    options.push_back({"--timestamp", TakesValue::yes, "the image's update timestamp", "EPOCH"});
    options.push_back(
        {"--image", TakesValue::yes, "built image whose boot/ sets TFTP_FILE_TIMEOUT", "DIR"});
    options.push_back({"--images", TakesValue::yes, "where built images are (default out)", "DIR"});
    return options;
}

std::vector<util::SubcommandSpec> firmware_commands() {
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
        {
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
                                    {"--out", TakesValue::yes, "where to write it", "F",
                                     Repeatable::no, Required::yes}},
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
                        .summary =
                            "print the bootconf.txt each node needs for the cluster's netboot",
                        .arguments = "CLUSTER.yaml [--image DIR | --images OUT]",
                        .description =
                            "TFTP_FILE_TIMEOUT follows the largest file in the built image's\n"
                            "boot/ (--image DIR, else OUT/<image-id> as `uhs-image plan` names\n"
                            "it, --images OUT, default out); without one a 200 MB file is\n"
                            "assumed.\n"
                            "TFTP_IP is written only with network.pin_tftp_server: true.",
                        .options = {{"--image", TakesValue::yes, "the built image directory",
                                     "DIR"},
                                    {"--images", TakesValue::yes,
                                     "where built images are (default out)", "OUT"}},
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .run = run_plan,
                    },
                },
        },
        {
            .name = "flash",
            .summary = "put the netboot bootloader config onto a CM5 (recovery5 over USB)",
            .children =
                {
                    {
                        .name = "bundle",
                        .summary = "write a recovery5-style directory for one node",
                        .arguments = "CLUSTER.yaml --node NAME --out DIR",
                        .description = k_firmware_help,
                        .options = with_firmware_options({
                            {"--node", TakesValue::yes, "the node", "NAME"},
                            {"--slot", TakesValue::yes, "or the node in this slot", "N"},
                            {"--out", TakesValue::yes, "the bundle directory", "DIR",
                             Repeatable::no, Required::yes},
                        }),
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .run = run_bundle,
                    },
                    {
                        .name = "usb",
                        .summary = "flash a module in USB boot mode (nRPIBOOT fitted) over libusb",
                        .arguments = "CLUSTER.yaml [--node NAME]",
                        .description = k_firmware_help,
                        .options = with_firmware_options({
                            {"--node", TakesValue::yes, "the node (for its slot's checks)", "NAME"},
                            {"--slot", TakesValue::yes, "or the node in this slot", "N"},
                            {"--bundle", TakesValue::yes,
                             "serve this bundle instead of building one", "DIR"},
                            {"--wait", TakesValue::yes, "seconds to wait for the module (300)",
                             "S"},
                        }),
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .run = run_usb,
                    },
                },
        },
        {
            .name = "enroll",
            .summary =
                "flash the module in a slot and record its serial and MAC in the cluster file",
            .arguments = "CLUSTER.yaml (--slot N | --node NAME) [--serial S [--mac M]]",
            .description = "Without --serial, flashes the module over USB as `flash usb` does and\n"
                           "records the serial and MAC it reports. The cluster file is edited in\n"
                           "place (only those two values; comments and layout kept), atomically.",
            .options = with_firmware_options({
                {"--node", TakesValue::yes, "the node", "NAME"},
                {"--slot", TakesValue::yes, "or the node in this slot", "N"},
                {"--serial", TakesValue::yes, "record this serial instead of flashing", "S"},
                {"--mac", TakesValue::yes, "and this MAC", "M"},
                {"--bundle", TakesValue::yes, "serve this bundle instead of building one", "DIR"},
                {"--wait", TakesValue::yes, "seconds to wait for the module (300)", "S"},
            }),
            .min_positionals = 1,
            .max_positionals = 1,
            .run = run_enroll,
        },
    };
}

} // namespace uhs::cli
