// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::netboot::tftp {

// The TFTP tree in.tftpd serves (with -s, so everything lives inside `root`):
//
//   root/.images/<image-id>/boot/...              shared boot files, copied once, never modified
//   root/.images/<image-id>/nodes/<dir>/          config.txt, cmdline.txt (per node) plus relative
//                                                 symlinks to ../../boot/<each shared entry>
//   root/<dir>         -> .images/<id>/nodes/<dir>   the directory the bootloader asks for
//   root/.<dir>.previous -> the target before the last switch (for rollback)
//
// <dir> is a node's TFTP_PREFIX directory: the 8-hex serial or the dashed MAC. Switching
// renames a freshly made symlink over <dir>, so a request sees either the old or the new image.
class Tree {
public:
    explicit Tree(std::filesystem::path root) : m_root(std::move(root)) {}

    const std::filesystem::path& root() const { return m_root; }

    // Creates the root and the health-probe file if missing.
    util::Status prepare() const;

    // Copies `images_dir/<image_id>` (layout of `uhs-image build`: boot/ and nodes/<dir>/) into
    // .images/<image_id>, through a temporary directory renamed into place. An image already
    // there keeps its boot/ and node directories and only gains the node directories the
    // source has and it lacks (a module swap: `enroll`, then `build`, same image-id). Fails
    // when the id is not a plain name or the image has no boot/.
    util::Status import_image(const std::filesystem::path& images_dir,
                              const std::string& image_id) const;

    // Points <dir> at image `image_id` (already imported and holding nodes/<dir>), keeping the
    // old target as .<dir>.previous. Fails (Errc::not_found) when the image lacks the node.
    util::Status switch_directory(const std::string& dir, const std::string& image_id) const;

    // Swaps <dir> and .<dir>.previous atomically. Returns the image now served; fails
    // (Errc::not_found) when there is no previous image.
    util::Result<std::string> rollback_directory(const std::string& dir) const;

    // Records that <dir> should move to `image_id` at the node's next boot (the daemon applies
    // it when the node's DISCOVER arrives, so one boot never mixes two images): an atomic
    // symlink .<dir>.pending. Fails like switch_directory.
    util::Status set_pending(const std::string& dir, const std::string& image_id) const;

    // Applies a pending switch of <dir>, if any. Returns the image switched to, or nullopt.
    // The pending link is claimed first (renamed to .<dir>.applying), so a switch recorded
    // while this runs makes a new .<dir>.pending that stays for the next boot. A claim left by
    // a crash is applied by the next call. `after_switch` (tests) runs between the switch and
    // the release of the claim.
    util::Result<std::optional<std::string>>
    apply_pending(const std::string& dir, const std::function<void()>& after_switch = {}) const;

    // The image .<dir>.pending points at, if any.
    std::optional<std::string> pending_image(const std::string& dir) const;

    // The size of the regular file a TFTP client gets for `path` (as in.tftpd logged it),
    // resolved the way in.tftpd's chroot sees it: inside the root, '..' and symlinks included
    // (openat2 RESOLVE_IN_ROOT), never outside. nullopt when there is no such file.
    std::optional<std::uintmax_t> served_size(std::string_view path) const;

    // The image <dir> currently points at, or nullopt when it is not published.
    std::optional<std::string> current_image(const std::string& dir) const;
    // The image .<dir>.previous points at, if any.
    std::optional<std::string> previous_image(const std::string& dir) const;

    // The images under .images, sorted.
    std::vector<std::string> imported_images() const;

    // The name of the health-probe file at the root (in.tftpd must serve it).
    static constexpr const char* k_health_file = ".uhs-health";

private:
    std::filesystem::path m_root;
};

// Image ids and TFTP directory names are plain names: [A-Za-z0-9._-], not starting with '.'.
bool is_plain_name(const std::string& name);

// The image ids under `images_dir` (directories with a boot/ subdirectory), sorted.
util::Result<std::vector<std::string>> list_images(const std::filesystem::path& images_dir);

// The remap rules given to in.tftpd: collapse repeated slashes (the Pi 5 asks for
// "<serial>//config.txt"), drop a leading slash, and send <dir>/pieeprom.upd and
// <dir>/pieeprom.sig to .eeprom/<dir>/ (netboot/eeprom/stage.hpp).
std::string remap_rules();

} // namespace uhs::netboot::tftp
