// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/tree.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace uhs::netboot::tftp {

namespace fs = std::filesystem;

namespace {

util::Status make_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return util::fail(util::Errc::io, "cannot create ", dir.string(), ": ", ec.message());
    }
    return {};
}

// Copies a regular file with mode 0644: in.tftpd only serves world-readable files.
util::Status copy_regular(const fs::path& from, const fs::path& to) {
    auto data = UHS_TRY(util::read_file(from));
    std::error_code ec;
    fs::remove(to, ec);
    UHS_CHECK(util::write_file_atomic(to, data, 0644));
    return {};
}

// Copies a tree of regular files and directories (symlinks are followed).
util::Status copy_tree(const fs::path& from, const fs::path& to) {
    UHS_CHECK(make_dir(to));
    ::chmod(to.c_str(), 0755);
    const auto names = UHS_TRY(util::list_dir_sorted(from));
    for (const std::string& name : names) {
        const fs::path src = from / name;
        std::error_code ec;
        if (fs::is_directory(src, ec)) {
            UHS_CHECK(copy_tree(src, to / name));
        } else if (fs::is_regular_file(src, ec)) {
            UHS_CHECK(copy_regular(src, to / name));
        }
    }
    return {};
}

util::Status fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return util::fail(util::Errc::io, "cannot open ", dir.string(), ": ",
                          util::errno_text(errno));
    }
    ::fsync(fd);
    ::close(fd);
    return {};
}

// Makes `link` point at `target` atomically: a temporary symlink renamed over it.
util::Status replace_symlink(const fs::path& target, const fs::path& link) {
    const fs::path tmp = link.parent_path() /
                         (".tmp-" + link.filename().string() + "-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_symlink(target, tmp, ec);
    if (ec) {
        return util::fail(util::Errc::io, "cannot create symlink ", tmp.string(), ": ",
                          ec.message());
    }
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
        const int err = errno;
        fs::remove(tmp, ec);
        return util::fail(util::Errc::io, "cannot rename ", tmp.string(), " to ", link.string(),
                          ": ", util::errno_text(err));
    }
    return fsync_dir(link.parent_path());
}

std::optional<std::string> image_of_link(const fs::path& link) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(link, ec);
    if (ec) {
        return std::nullopt;
    }
    // .images/<id>/nodes/<dir>
    auto it = target.begin();
    if (it == target.end() || *it != ".images" || ++it == target.end()) {
        return std::nullopt;
    }
    return it->string();
}

fs::path link_target(const std::string& image_id, const std::string& dir) {
    return fs::path(".images") / image_id / "nodes" / dir;
}

} // namespace

bool is_plain_name(const std::string& name) {
    if (name.empty() || name.front() == '.' || name.size() > 128) {
        return false;
    }
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

std::string remap_rules() {
    return "# uhs-netboot: written by the daemon, do not edit\n"
           "rg //+ /\n"
           "r ^/+(.*) \\1\n"
           // A staged bootloader update (uhs-netboot eeprom stage) lives outside the images.
           "r ^([A-Za-z0-9][A-Za-z0-9._-]*)/(pieeprom\\.(upd|sig))$ .eeprom/\\1/\\2\n";
}

util::Result<std::vector<std::string>> list_images(const fs::path& images_dir) {
    const auto names = UHS_TRY(util::list_dir_sorted(images_dir));
    std::vector<std::string> ids;
    for (const std::string& name : names) {
        std::error_code ec;
        if (is_plain_name(name) && fs::is_directory(images_dir / name / "boot", ec)) {
            ids.push_back(name);
        }
    }
    return ids;
}

util::Status Tree::prepare() const {
    UHS_CHECK(make_dir(m_root / ".images"));
    ::chmod(m_root.c_str(), 0755);
    ::chmod((m_root / ".images").c_str(), 0755);
    const fs::path health = m_root / k_health_file;
    std::error_code ec;
    if (!fs::exists(health, ec)) {
        UHS_CHECK(util::write_file_atomic(health, "uhs-netboot\n", 0644));
    }
    return {};
}

namespace {

// Copies one node directory of an image and links the shared boot entries it lacks.
util::Status copy_node_dir(const fs::path& from, const fs::path& node_dir,
                           const std::vector<std::string>& boot_entries) {
    std::error_code ec;
    UHS_CHECK(copy_tree(from, node_dir));
    // Per-node files win over shared ones of the same name.
    for (const std::string& entry : boot_entries) {
        if (fs::exists(fs::symlink_status(node_dir / entry, ec))) {
            continue;
        }
        fs::create_symlink(fs::path("../../boot") / entry, node_dir / entry, ec);
        if (ec) {
            return util::fail(util::Errc::io, "cannot link ", (node_dir / entry).string(), ": ",
                              ec.message());
        }
    }
    return {};
}

// An image imported before: its boot/ is never touched, but node directories the image gained
// since (`uhs-image build` after `enroll` of a new module: same image-id, new serial and MAC)
// are added, each copied beside its place and renamed into it.
util::Status add_new_node_dirs(const fs::path& src, const fs::path& dest) {
    std::error_code ec;
    if (!fs::is_directory(src / "nodes", ec)) {
        return {};
    }
    const auto boot_entries = UHS_TRY(util::list_dir_sorted(dest / "boot"));
    const auto dirs = UHS_TRY(util::list_dir_sorted(src / "nodes"));
    for (const std::string& dir : dirs) {
        if (!is_plain_name(dir) || !fs::is_directory(src / "nodes" / dir, ec) ||
            fs::exists(fs::symlink_status(dest / "nodes" / dir, ec))) {
            continue;
        }
        UHS_CHECK(make_dir(dest / "nodes"));
        ::chmod((dest / "nodes").c_str(), 0755);
        const fs::path tmp = dest / "nodes" / (".tmp-" + dir + "-" + std::to_string(::getpid()));
        fs::remove_all(tmp, ec);
        UHS_CHECK(copy_node_dir(src / "nodes" / dir, tmp, boot_entries));
        if (::rename(tmp.c_str(), (dest / "nodes" / dir).c_str()) != 0) {
            const int err = errno;
            fs::remove_all(tmp, ec);
            return util::fail(util::Errc::io, "cannot rename ", tmp.string(), ": ",
                              util::errno_text(err));
        }
        UHS_CHECK(fsync_dir(dest / "nodes"));
    }
    return {};
}

} // namespace

util::Status Tree::import_image(const fs::path& images_dir, const std::string& image_id) const {
    if (!is_plain_name(image_id)) {
        return util::fail(util::Errc::invalid_input, "image id '", image_id,
                          "' is not a plain name");
    }
    const fs::path src = images_dir / image_id;
    const fs::path dest = m_root / ".images" / image_id;
    std::error_code ec;
    if (fs::is_directory(dest, ec)) {
        return add_new_node_dirs(src, dest);
    }
    if (!fs::is_directory(src / "boot", ec)) {
        return util::fail(util::Errc::not_found, src.string(),
                          ": no boot/ directory (not an image)");
    }
    UHS_CHECK(prepare());
    const fs::path tmp =
        m_root / ".images" / (".tmp-" + image_id + "-" + std::to_string(::getpid()));
    fs::remove_all(tmp, ec);
    UHS_CHECK(make_dir(tmp));
    // in.tftpd's transfer processes run as another user: every directory must be 0755
    // whatever the umask of whoever imports (the daemon, or `uhs-netboot switch`).
    if (::chmod(tmp.c_str(), 0755) != 0) {
        return util::fail(util::Errc::io, "cannot chmod ", tmp.string(), ": ",
                          util::errno_text(errno));
    }
    UHS_CHECK(copy_tree(src / "boot", tmp / "boot"));
    const auto boot_entries = UHS_TRY(util::list_dir_sorted(tmp / "boot"));
    if (fs::is_directory(src / "nodes", ec)) {
        const auto dirs = UHS_TRY(util::list_dir_sorted(src / "nodes"));
        for (const std::string& dir : dirs) {
            if (!is_plain_name(dir) || !fs::is_directory(src / "nodes" / dir, ec)) {
                continue;
            }
            UHS_CHECK(copy_node_dir(src / "nodes" / dir, tmp / "nodes" / dir, boot_entries));
            ::chmod((tmp / "nodes").c_str(), 0755);
        }
    }
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
        const int err = errno;
        fs::remove_all(tmp, ec);
        return util::fail(util::Errc::io, "cannot rename ", tmp.string(), ": ",
                          util::errno_text(err));
    }
    return fsync_dir(dest.parent_path());
}

namespace {

// A switch (now or pending) may point `dir` at `image_id` only when both are plain names and
// the imported image has that node directory.
util::Status check_switch_target(const fs::path& root, const std::string& dir,
                                 const std::string& image_id) {
    if (!is_plain_name(dir) || !is_plain_name(image_id)) {
        return util::fail(util::Errc::invalid_input, "bad directory or image name: '", dir, "', '",
                          image_id, "'");
    }
    std::error_code ec;
    if (!fs::is_directory(root / link_target(image_id, dir), ec)) {
        return util::fail(util::Errc::not_found, "image ", image_id, " has no node directory ",
                          dir);
    }
    return {};
}

} // namespace

util::Status Tree::switch_directory(const std::string& dir, const std::string& image_id) const {
    UHS_CHECK(check_switch_target(m_root, dir, image_id));
    const fs::path link = m_root / dir;
    const auto current = current_image(dir);
    if (current == image_id) {
        return {};
    }
    if (current) {
        UHS_CHECK(replace_symlink(link_target(*current, dir), m_root / ("." + dir + ".previous")));
    }
    return replace_symlink(link_target(image_id, dir), link);
}

util::Result<std::string> Tree::rollback_directory(const std::string& dir) const {
    if (!is_plain_name(dir)) {
        return util::fail(util::Errc::invalid_input, "bad directory name '", dir, "'");
    }
    const auto previous = previous_image(dir);
    if (!previous) {
        return util::fail(util::Errc::not_found, dir, ": no previous image to roll back to");
    }
    const auto current = current_image(dir);
    UHS_CHECK(replace_symlink(link_target(*previous, dir), m_root / dir));
    if (current) {
        UHS_CHECK(replace_symlink(link_target(*current, dir), m_root / ("." + dir + ".previous")));
    }
    return *previous;
}

util::Status Tree::set_pending(const std::string& dir, const std::string& image_id) const {
    UHS_CHECK(check_switch_target(m_root, dir, image_id));
    return replace_symlink(link_target(image_id, dir), m_root / ("." + dir + ".pending"));
}

util::Result<std::optional<std::string>>
Tree::apply_pending(const std::string& dir, const std::function<void()>& after_switch) const {
    if (!is_plain_name(dir)) {
        return util::fail(util::Errc::invalid_input, "bad directory name '", dir, "'");
    }
    const fs::path pending = m_root / ("." + dir + ".pending");
    const fs::path claimed = m_root / ("." + dir + ".applying");
    if (::rename(pending.c_str(), claimed.c_str()) != 0 && errno != ENOENT) {
        return util::fail(util::Errc::io, "cannot claim ", pending.string(), ": ",
                          util::errno_text(errno));
    }
    const auto image = image_of_link(claimed); // also a claim an earlier crash left
    std::error_code ec;
    if (!image) {
        fs::remove(claimed, ec);
        return std::optional<std::string>();
    }
    if (auto st = switch_directory(dir, *image); !st) {
        // Give the claim back unless a newer switch has been recorded meanwhile.
        if (!fs::exists(fs::symlink_status(pending, ec))) {
            ::rename(claimed.c_str(), pending.c_str());
        }
        return std::unexpected(st.error());
    }
    if (after_switch) {
        after_switch();
    }
    fs::remove(claimed, ec);
    return image;
}

std::optional<std::string> Tree::pending_image(const std::string& dir) const {
    return image_of_link(m_root / ("." + dir + ".pending"));
}

std::optional<std::string> Tree::current_image(const std::string& dir) const {
    return image_of_link(m_root / dir);
}

std::optional<std::string> Tree::previous_image(const std::string& dir) const {
    return image_of_link(m_root / ("." + dir + ".previous"));
}

std::vector<std::string> Tree::imported_images() const {
    std::vector<std::string> ids;
    auto names = util::list_dir_sorted(m_root / ".images");
    if (!names) {
        return ids;
    }
    for (const std::string& name : *names) {
        if (is_plain_name(name)) {
            ids.push_back(name);
        }
    }
    return ids;
}

std::optional<std::uintmax_t> Tree::served_size(std::string_view path) const {
    const util::UniqueFd root_fd(::open(m_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        return std::nullopt;
    }
    std::string relative(path);
    while (relative.starts_with('/')) {
        relative.erase(0, 1);
    }
    if (relative.empty()) {
        return std::nullopt;
    }
    // O_PATH: a FIFO or device in the tree is looked at, never opened.
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const util::UniqueFd fd(static_cast<int>(
        ::syscall(SYS_openat2, root_fd.get(), relative.c_str(), &how, sizeof how)));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    return static_cast<std::uintmax_t>(st.st_size);
}

} // namespace uhs::netboot::tftp
