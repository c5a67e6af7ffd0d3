// SPDX-License-Identifier: Apache-2.0
// `flash bundle|usb`, `enroll`: getting a node's bootloader configuration onto a CM5 over USB
// and recording the module's identity; with `eeprom` (eeprom_commands.cpp) the firmware table.
#include "builder/cli/commands.hpp"
#include "builder/cli/firmware_shared.hpp"
#include "builder/config/board.hpp"
#include "builder/config/cluster_edit.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/node_boot.hpp"
#include "firmware/rpiboot/plan.hpp"
#include "firmware/rpiboot/protocol.hpp"
#include "firmware/rpiboot/usb_transport.hpp"

#include <cstdlib>
#include <ctime>
#include <regex>

#include <sys/stat.h>

namespace uhs::cli {

namespace {

using util::Io;
using util::ParsedArgs;

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
        // Every node of a SoC gets the same bootconf.txt: any node flash can write will do
        // (the BCM2712 boards).
        for (const config::Node& n : target.cluster.nodes) {
            if (config::board_for(n.model).usb_flash) {
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
    config::NodeIdentity identity;
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
    if (auto done = config::enroll(args.positionals.at(0), node, identity); !done) {
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
    return {
        eeprom_command(),
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
