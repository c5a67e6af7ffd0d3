// SPDX-License-Identifier: Apache-2.0
#include "firmware/rpiboot/plan.hpp"

#include "builder/config/board.hpp"
#include "builder/util/fs.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/image.hpp"

#include <algorithm>
#include <regex>

namespace uhs::rpiboot {

using util::Errc;
using util::fail;

int soc_of(config::BoardModel model) {
    return config::board_for(model).soc;
}

std::uint32_t tftp_file_timeout_ms(std::uint64_t largest_bytes) {
    constexpr std::uint64_t k_bytes_per_second = 3ull * 1000 * 1000;
    // ms = bytes / (3 MB/s) * 1.5 + 10 s, in integer arithmetic, rounded up to 1000 ms.
    const std::uint64_t transfer_ms =
        (largest_bytes * 1000 * 3 + 2 * k_bytes_per_second - 1) / (2 * k_bytes_per_second);
    std::uint64_t ms = transfer_ms + 10000;
    ms = (ms + 999) / 1000 * 1000;
    return static_cast<std::uint32_t>(
        std::clamp<std::uint64_t>(ms, k_default_tftp_file_timeout_ms, k_max_tftp_file_timeout_ms));
}

std::string node_bootconf(const config::Cluster& cluster, const config::Node& node,
                          std::uint32_t tftp_file_timeout) {
    (void)node; // the same config for every node of a SoC; see the header
    // A firmware.tftp_file_timeout the cluster file sets is the user's word (and the limit the
    // boot-chain check holds the files to); otherwise the value derived from the largest file.
    const std::uint32_t effective =
        cluster.firmware.tftp_file_timeout_ms != 30000
            ? static_cast<std::uint32_t>(cluster.firmware.tftp_file_timeout_ms)
            : tftp_file_timeout;
    std::string text = "[all]\n"
                       "BOOT_UART=1\n"
                       "BOOT_ORDER=0xf12\n"
                       "TFTP_PREFIX=0\n"
                       "TFTP_FILE_TIMEOUT=" +
                       std::to_string(effective) + "\n";
    if (cluster.network.pin_tftp_server) {
        text += "TFTP_IP=" + cluster.network.server.to_string() + "\n";
    }
    text += "ENABLE_SELF_UPDATE=1\n"
            "NET_INSTALL_AT_POWER_ON=0\n";
    return text;
}

util::Result<BundleInputs> find_firmware(const std::filesystem::path& firmware_dir) {
    auto names = util::list_dir_sorted(firmware_dir);
    if (!names) {
        return fail(Errc::not_found, "firmware directory ", firmware_dir.string(), ": ",
                    names.error().message);
    }
    BundleInputs inputs;
    static const std::regex k_eeprom_name("pieeprom-[0-9]{4}-[0-9]{2}-[0-9]{2}\\.bin");
    for (const std::string& name : *names) {
        if (name == "recovery.bin") {
            inputs.recovery_bin = firmware_dir / name;
        } else if (std::regex_match(name, k_eeprom_name)) {
            inputs.base_eeprom = firmware_dir / name; // sorted: the last one is the newest
        }
    }
    if (inputs.recovery_bin.empty()) {
        return fail(Errc::not_found, "no recovery.bin in ", firmware_dir.string(),
                    " (give --recovery FILE)");
    }
    if (inputs.base_eeprom.empty()) {
        return fail(Errc::not_found, "no pieeprom-YYYY-MM-DD.bin in ", firmware_dir.string(),
                    " (give --eeprom FILE)");
    }
    return inputs;
}

util::Status write_bundle(const config::Cluster& cluster, const config::Node& node,
                          const BundleInputs& inputs, const std::filesystem::path& out_dir) {
    const config::Board& board = config::board_for(node.model);
    const int soc = board.soc;
    if (!board.usb_flash) {
        // The boards recovery5 can flash, from the board table ("BCM2712 boards (cm5, ...)").
        std::string flashable;
        int flashable_soc = 0;
        for (const config::Board& b : config::all_boards()) {
            if (b.usb_flash) {
                flashable += (flashable.empty() ? "" : ", ") + std::string(b.name);
                flashable_soc = b.soc;
            }
        }
        return fail(Errc::invalid_input, "node ", node.name, " is a ",
                    config::to_string(node.model), ": flash bundles are for BCM",
                    std::to_string(flashable_soc), " boards (", flashable, ") only");
    }
    // firmware.bootloader promises every node runs that release or a newer one (the build's
    // TFTP limits rely on it): flashing an older one would break the promise.
    static const std::regex k_dated_eeprom("pieeprom-([0-9]{4}-[0-9]{2}-[0-9]{2})\\.bin");
    std::smatch dated;
    const std::string eeprom_name = inputs.base_eeprom.filename().string();
    if (cluster.firmware.bootloader && std::regex_match(eeprom_name, dated, k_dated_eeprom) &&
        dated[1].str() < *cluster.firmware.bootloader) {
        return fail(Errc::invalid_input, inputs.base_eeprom.string(), " is the ", dated[1].str(),
                    " bootloader, older than the cluster's firmware.bootloader ",
                    *cluster.firmware.bootloader);
    }
    auto recovery = UHS_TRY(util::read_file(inputs.recovery_bin));
    if (recovery.empty()) {
        return fail(Errc::invalid_input, inputs.recovery_bin.string(), " is empty");
    }
    auto base_bytes = UHS_TRY(util::read_file(inputs.base_eeprom));
    auto image = eeprom::Image::parse(std::move(base_bytes));
    if (!image) {
        return fail(Errc::invalid_input, inputs.base_eeprom.string(), ": ", image.error().message);
    }
    if (image->soc() != soc) {
        return fail(Errc::invalid_input, inputs.base_eeprom.string(), " is a BCM",
                    std::to_string(image->soc()), " image; node ", node.name, " needs BCM",
                    std::to_string(soc));
    }
    if (board.needs_device_tree_bootloader) {
        UHS_CHECK(eeprom::check_cm5_bootloader_build(image->bytes(), inputs.base_eeprom.string()));
    }
    if (inputs.largest_boot_file > k_block_wrap_bytes &&
        eeprom::build_info(image->bytes()).timestamp.value_or(0) < k_block_wrap_fix_build) {
        return fail(Errc::invalid_input, inputs.base_eeprom.string(),
                    ": bootloader built before 2025-09-23, which fails on a TFTP file of more "
                    "than 65535 blocks, and the largest boot file has ",
                    std::to_string(inputs.largest_boot_file), " bytes (over ",
                    std::to_string(k_block_wrap_bytes), " at blksize 1468); use a newer image");
    }
    const std::string conf = node_bootconf(cluster, node, inputs.tftp_file_timeout);
    for (const eeprom::Finding& f : eeprom::check_bootconf(eeprom::parse_bootconf(conf), soc)) {
        if (f.severity == eeprom::Severity::error) {
            return fail(Errc::invalid_input, "node ", node.name, " bootconf: ", f.message);
        }
    }
    UHS_CHECK(image->set_timestamp(static_cast<std::uint32_t>(inputs.timestamp)));
    UHS_CHECK(image->replace_file("bootconf.txt", conf));

    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) {
        return fail(Errc::io, "cannot create ", out_dir.string(), ": ", ec.message());
    }
    // A stale .sig from an earlier bundle must not vouch for a half-rewritten one.
    std::filesystem::remove(out_dir / "pieeprom.sig", ec);
    UHS_CHECK(util::write_file_atomic(out_dir / "bootcode5.bin", recovery));
    UHS_CHECK(util::write_file_atomic(out_dir / "config.txt", k_recovery_config_txt));
    UHS_CHECK(util::write_file_atomic(out_dir / "boot.conf", conf));
    UHS_CHECK(util::write_file_atomic(out_dir / "pieeprom.bin", image->bytes()));
    UHS_CHECK(util::write_file_atomic(out_dir / "pieeprom.sig",
                                      eeprom::make_sig(image->bytes(), inputs.timestamp, soc)));
    return {};
}

} // namespace uhs::rpiboot
