// SPDX-License-Identifier: Apache-2.0
#include "netboot/eeprom/stage.hpp"

#include "builder/config/board.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "firmware/eeprom/bootconf.hpp"
#include "firmware/eeprom/bootloader_age.hpp"
#include "firmware/eeprom/image.hpp"

#include <cerrno>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::netboot::eeprom {

namespace fs = std::filesystem;
namespace pe = ::uhs::eeprom;
using util::Errc;
using util::fail;

namespace {

constexpr const char* k_staged_dir = ".eeprom";

std::string date_of(std::uint32_t ts) {
    return pe::utc_date(ts) + " (" + std::to_string(ts) + ")";
}

util::Status fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return fail(Errc::io, "cannot open ", dir.string(), ": ", util::errno_text(errno));
    }
    ::fsync(fd);
    ::close(fd);
    return {};
}

util::Status make_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(Errc::io, "cannot create ", dir.string(), ": ", ec.message());
    }
    // in.tftpd's transfer processes run as another user.
    ::chmod(dir.c_str(), 0755);
    return {};
}

} // namespace

util::Result<StagePlan> plan_stage(const StageInput& in) {
    const config::Board& board = config::board_for(in.model);
    const int soc = board.soc;
    if (!board.raspberry_pi_firmware()) {
        return fail(Errc::invalid_input, "a ", config::to_string(in.model),
                    " board has no Raspberry Pi bootloader EEPROM");
    }
    auto image = pe::Image::parse(in.image);
    if (!image) {
        return std::unexpected(image.error());
    }
    if (image->soc() != soc) {
        return fail(Errc::invalid_input, "a BCM", std::to_string(image->soc()),
                    " image; the node needs BCM", std::to_string(soc));
    }
    auto conf_text = image->extract("bootconf.txt");
    if (!conf_text) {
        return std::unexpected(conf_text.error());
    }
    const pe::BootConfig conf = pe::parse_bootconf(*conf_text);
    if (conf.value("ENABLE_SELF_UPDATE") != "1") {
        return fail(Errc::invalid_input,
                    "the update's bootconf.txt does not say ENABLE_SELF_UPDATE=1: after it the "
                    "node would not take the next network update (set it with `uhs-image eeprom "
                    "set`, or start from `uhs-image eeprom plan`)");
    }
    if (conf.value("FREEZE_VERSION") == "1") {
        return fail(Errc::invalid_input,
                    "the update's bootconf.txt says FREEZE_VERSION=1, which turns self-update "
                    "off: the node would take no further network update");
    }
    if (board.needs_device_tree_bootloader) {
        UHS_CHECK(pe::check_cm5_bootloader_build(in.image, "the update"));
    }
    const auto info = pe::build_info(in.image);
    if (!info.timestamp) {
        return fail(Errc::invalid_input, "no BUILD_TIMESTAMP in the image: not a bootloader "
                                         "release image?");
    }

    StagePlan plan;
    plan.build = *info.timestamp;
    if (in.sig) {
        auto sig = pe::parse_sig(*in.sig);
        if (!sig) {
            return fail(Errc::invalid_input, "--sig: ", sig.error().message);
        }
        const std::string sha = util::sha256_hex(in.image);
        if (sig->sha256 != sha) {
            return fail(Errc::invalid_input, "--sig is for another image: it says ", sig->sha256,
                        ", the image is ", sha);
        }
        plan.upd = in.image;
        plan.sig = *in.sig;
        plan.sha256 = sha;
        if (!sig->ts) {
            plan.notes.push_back("the .sig has no ts: line: the bootloader compares contents "
                                 "instead of timestamps");
        }
        plan.ts = sig->ts.value_or(pe::update_timestamp(*image).value_or(0));
    } else {
        plan.ts = in.timestamp.value_or(in.now);
        if (plan.ts <= 0 || plan.ts > 0xFFFFFFFFll) {
            return fail(Errc::invalid_input, "update timestamp ", std::to_string(plan.ts),
                        " is not a 32-bit Unix time");
        }
        // As rpi-eeprom-update: the image and its .sig carry the same update timestamp, which
        // the node reports as update-timestamp once it runs the update.
        UHS_CHECK(image->set_timestamp(static_cast<std::uint32_t>(plan.ts)));
        plan.upd = image->bytes();
        plan.sha256 = util::sha256_hex(plan.upd);
        plan.sig = pe::make_sig(plan.upd, plan.ts, soc);
    }

    if (!in.running) {
        if (!in.force) {
            return fail(Errc::invalid_input,
                        "the node's bootloader is unknown (it has not reported: see `uhs-netboot "
                        "eeprom status`); whether it self-updates and whether this update is "
                        "newer cannot be checked. Give --force to stage anyway: the bootloader "
                        "itself skips an update that is not newer than its own");
        }
        plan.notes.push_back("unknown: the node has not reported its bootloader; staged with "
                             "--force, unchecked against it");
        return plan;
    }
    const BootloaderReport& run = *in.running;
    if (run.build_timestamp < pe::k_self_update_min_build) {
        return fail(Errc::invalid_input, "the node's bootloader was built ",
                    date_of(run.build_timestamp),
                    ", before self-update existed (2022-04-26): it ignores pieeprom.upd; flash "
                    "it over USB (`uhs-image flash usb`)");
    }
    if (run.config) {
        const pe::BootConfig running_conf = pe::parse_bootconf(*run.config);
        if (running_conf.value("ENABLE_SELF_UPDATE") == "0") {
            return fail(Errc::invalid_input,
                        "the node's bootloader runs with ENABLE_SELF_UPDATE=0: it ignores "
                        "pieeprom.upd; flash it over USB (`uhs-image flash usb`)");
        }
        if (running_conf.value("FREEZE_VERSION") == "1") {
            return fail(Errc::invalid_input,
                        "the node's bootloader runs with FREEZE_VERSION=1: it ignores "
                        "pieeprom.upd; flash it over USB (`uhs-image flash usb`)");
        }
    } else {
        plan.notes.push_back("the node did not report its bootloader config; ENABLE_SELF_UPDATE "
                             "defaults to 1");
    }
    if (run.update_timestamp && plan.ts <= static_cast<std::int64_t>(*run.update_timestamp)) {
        return fail(Errc::invalid_input, "update timestamp ", std::to_string(plan.ts),
                    " is not newer than the node's (", std::to_string(*run.update_timestamp),
                    "): the bootloader would skip it",
                    in.sig ? std::string("; make a new .sig") : std::string("; give --timestamp"));
    }
    if (plan.build < run.build_timestamp && !in.force) {
        return fail(Errc::invalid_input, "the update was built ", date_of(plan.build),
                    ", before the node's bootloader (", date_of(run.build_timestamp),
                    "): a downgrade; give --force to stage it anyway");
    }
    if (plan.build == run.build_timestamp && run.config && *run.config == *conf_text && !in.force) {
        return fail(Errc::invalid_input, "the node already runs this build (", date_of(plan.build),
                    ") with this config: nothing would change; give --force to stage it anyway");
    }
    return plan;
}

util::Status stage(const fs::path& tftp_root, const std::vector<std::string>& dirs,
                   const StagePlan& plan) {
    const fs::path base = tftp_root / k_staged_dir;
    const std::string id = plan.sha256.substr(0, 16);
    const fs::path content = base / ".content" / id;
    UHS_CHECK(make_dir(base / ".content"));
    std::error_code ec;
    if (!fs::is_directory(content, ec)) {
        // Both files, then one rename: a content directory is complete or absent.
        const fs::path tmp = base / ".content" / (".tmp-" + id + "-" + std::to_string(::getpid()));
        fs::remove_all(tmp, ec);
        UHS_CHECK(make_dir(tmp));
        UHS_CHECK(util::write_file_atomic(tmp / "pieeprom.upd", plan.upd, 0644));
        UHS_CHECK(util::write_file_atomic(tmp / "pieeprom.sig", plan.sig, 0644));
        if (::rename(tmp.c_str(), content.c_str()) != 0) {
            const int err = errno;
            fs::remove_all(tmp, ec);
            return fail(Errc::io, "cannot rename ", tmp.string(), ": ", util::errno_text(err));
        }
        UHS_CHECK(fsync_dir(content.parent_path()));
    }
    for (const std::string& dir : dirs) {
        const fs::path link = base / dir;
        const fs::path tmp = base / (".tmp-" + dir + "-" + std::to_string(::getpid()));
        fs::remove(tmp, ec);
        fs::create_symlink(fs::path(".content") / id, tmp, ec);
        if (ec) {
            return fail(Errc::io, "cannot create symlink ", tmp.string(), ": ", ec.message());
        }
        if (::rename(tmp.c_str(), link.c_str()) != 0) {
            const int err = errno;
            fs::remove(tmp, ec);
            return fail(Errc::io, "cannot rename ", tmp.string(), " to ", link.string(), ": ",
                        util::errno_text(err));
        }
    }
    return fsync_dir(base);
}

util::Status unstage(const fs::path& tftp_root, const std::vector<std::string>& dirs) {
    const fs::path base = tftp_root / k_staged_dir;
    std::error_code ec;
    for (const std::string& dir : dirs) {
        fs::remove(base / dir, ec);
        if (ec) {
            return fail(Errc::io, "cannot remove ", (base / dir).string(), ": ", ec.message());
        }
    }
    // Content no directory points at any more goes too.
    std::set<std::string> used;
    auto names = util::list_dir_sorted(base);
    if (!names) {
        return {};
    }
    for (const std::string& name : *names) {
        const fs::path target = fs::read_symlink(base / name, ec);
        if (!ec) {
            used.insert(target.filename().string());
        }
    }
    auto contents = util::list_dir_sorted(base / ".content");
    if (contents) {
        for (const std::string& id : *contents) {
            if (!used.contains(id)) {
                fs::remove_all(base / ".content" / id, ec);
            }
        }
    }
    return fsync_dir(base);
}

std::optional<Staged> staged(const fs::path& tftp_root, const std::string& dir) {
    const fs::path d = tftp_root / k_staged_dir / dir;
    auto sig_text = util::read_file(d / "pieeprom.sig");
    auto upd = util::read_file(d / "pieeprom.upd");
    if (!sig_text || !upd) {
        return std::nullopt;
    }
    Staged s;
    if (auto sig = pe::parse_sig(*sig_text)) {
        s.sha256 = sig->sha256;
        s.ts = sig->ts;
    }
    const auto info = pe::build_info(*upd);
    s.build = info.timestamp;
    s.version = info.version;
    if (auto image = pe::Image::parse(std::move(*upd))) {
        s.config = image->extract("bootconf.txt").value_or("");
    }
    return s;
}

} // namespace uhs::netboot::eeprom
