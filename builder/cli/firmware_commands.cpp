// SPDX-License-Identifier: Apache-2.0
// `eeprom show|extract|set`: the bootloader configuration inside a pieeprom.bin.
#include "builder/cli/commands.hpp"
#include "builder/util/fs.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/image.hpp"

#include <charconv>
#include <cstdlib>
#include <ctime>

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

} // namespace

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
                },
        },
    };
}

} // namespace uhs::cli
