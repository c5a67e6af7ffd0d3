// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"
#include "netboot/eeprom/report.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uhs::netboot::eeprom {

// Staging a bootloader update for the bootloader's self-update: on each network boot a
// Raspberry Pi bootloader with ENABLE_SELF_UPDATE=1 asks its TFTP directory for pieeprom.sig
// and, when that announces an update newer than its own (the sig's ts: against its update
// timestamp), fetches pieeprom.upd, checks the sha256, flashes itself and resets
// (FACTS-pi-boot.md §1.8, §3.4). The staged pair lives outside the images:
//
//   tftproot/.eeprom/.content/<sha256[0:16]>/pieeprom.upd, pieeprom.sig   written once
//   tftproot/.eeprom/<dir> -> .content/<sha256[0:16]>                      one atomic rename
//
// and in.tftpd's remap rules send <dir>/pieeprom.{upd,sig} there, so a staged update survives
// image switches and a request sees either both old files or both new ones.

struct StageInput {
    std::string image;                     // the pieeprom.bin to stage
    std::optional<std::string> sig;        // its .sig (--sig): the image is then used unchanged
    std::optional<std::int64_t> timestamp; // --timestamp: the update timestamp and sig ts:
    std::int64_t now = 0;                  // the clock: the update timestamp otherwise
    config::BoardModel model = config::BoardModel::cm5;
    std::optional<BootloaderReport> running; // what the node last reported, if anything
    bool force = false; // stage although the node's bootloader is unknown, or newer
};

struct StagePlan {
    std::string upd;                // pieeprom.upd bytes
    std::string sig;                // pieeprom.sig text
    std::string sha256;             // of upd
    std::int64_t ts = 0;            // the sig's ts: (and, without --sig, the image's own)
    std::uint32_t build = 0;        // the update's BUILD_TIMESTAMP
    std::vector<std::string> notes; // what the operator should know ("unknown: ...")
};

// Checks an update against what the bootloader will do with it and builds the pair to stage.
// Refuses (Errc::invalid_input), saying why, when:
//   - the image is not a bootloader image of the node's SoC (or the node has no EEPROM);
//   - the update's bootconf.txt does not say ENABLE_SELF_UPDATE=1, or says FREEZE_VERSION=1:
//     the node could not take the next network update;
//   - a CM5's update is older than 2025-03-27 (eeprom::check_cm5_bootloader_build);
//   - --sig does not match the image;
//   - the node reported a bootloader that ignores pieeprom.upd: ENABLE_SELF_UPDATE=0,
//     FREEZE_VERSION=1, or built before self-update existed;
//   - the update timestamp is not newer than the one the node reported (it would be skipped);
//   - without --force: the node has not reported (its bootloader is unknown), or the update's
//     build is older than the running one, or it is the same build and config.
util::Result<StagePlan> plan_stage(const StageInput& input);

// Writes the plan's pair and points each of `dirs` at it (see above).
util::Status stage(const std::filesystem::path& tftp_root, const std::vector<std::string>& dirs,
                   const StagePlan& plan);
// Removes the staged update of each of `dirs` (a missing one is fine) and content no
// directory points at any more.
util::Status unstage(const std::filesystem::path& tftp_root, const std::vector<std::string>& dirs);

// What is staged for one directory.
struct Staged {
    std::string sha256;
    std::optional<std::int64_t> ts;
    std::optional<std::uint32_t> build;
    std::optional<std::string> version;
    std::string config; // the update's bootconf.txt
};
std::optional<Staged> staged(const std::filesystem::path& tftp_root, const std::string& dir);

} // namespace uhs::netboot::eeprom
