// SPDX-License-Identifier: Apache-2.0
#include "builder/image/stage_cache.hpp"

#include "builder/image/tar_writer.hpp"
#include "builder/rootfs/configure.hpp"
#include "builder/rootfs/extract.hpp"
#include "builder/rootfs/safe_path.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/locale.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/initramfs.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

// Held while an entry is written: temp names found under it belong to writers that died.
class WriterLock {
public:
    static util::Result<WriterLock> take(const fs::path& dir) {
        UHS_CHECK(util::create_dirs(dir));
        const fs::path path = dir / ".lock";
        util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
        if (!fd || ::flock(fd.get(), LOCK_EX) != 0) {
            return fail(Errc::io, "cannot lock ", path.string(), ": ", util::errno_text(errno));
        }
        // What a writer that died left: `.<name>.tmp.XXXXXX`, a file or a directory.
        for (const std::string& name : UHS_TRY(util::list_dir_sorted(dir))) {
            if (name.starts_with('.') && name.find(".tmp.") != std::string::npos) {
                std::error_code ec;
                fs::remove_all(dir / name, ec);
            }
        }
        return WriterLock(std::move(fd));
    }

private:
    explicit WriterLock(util::UniqueFd fd) : m_fd(std::move(fd)) {}
    util::UniqueFd m_fd;
};

std::string initrd_of(const std::string& version) {
    return "boot/initrd.img-" + version;
}
std::string state_of(const std::string& version) {
    return "var/lib/initramfs-tools/" + version;
}

// A root path as the digest sees it: kind, mode and content, never following a link.
util::Result<std::string> describe(const fs::path& root, const std::string& relative) {
    const fs::path path = root / relative;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return std::string("-");
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if (S_ISREG(st.st_mode)) {
        return std::string("f ") + mode + " " + UHS_TRY(util::sha256_file_hex(path));
    }
    if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        return "l " + fs::read_symlink(path, ec).string();
    }
    return std::string(S_ISDIR(st.st_mode) ? "d " : "o ") + mode;
}

// The digest of what, beyond the packages, an initramfs is made from: the overlays' files
// that may reach it, as they are in `root` now. `listing` is that initramfs' own member list.
util::Result<std::string> inputs_digest(const fs::path& root,
                                        const std::vector<std::string>& overlay_paths,
                                        const std::set<std::string>& listing) {
    std::set<std::string> read;
    for (const std::string& path : overlay_paths) {
        std::string relative = path.starts_with('/') ? path.substr(1) : path;
        if (initramfs_may_read(relative) || listing.contains(relative)) {
            read.insert(std::move(relative));
        }
    }
    util::Sha256 hash;
    hash.update("uhs-initramfs-inputs-v1\n");
    for (const std::string& version : rootfs::installed_kernels(root)) {
        hash.update("kernel " + version + "\n");
    }
    for (const std::string& relative : read) {
        hash.update(relative + " " + UHS_TRY(describe(root, relative)) + "\n");
    }
    return util::to_hex(hash.finish());
}

// Copies `from` to `relative` below `root` (parents created 0755), never through a symlink:
// the path is replaced, not written into.
util::Status place_beneath(const fs::path& root, const std::string& relative, const fs::path& from,
                           mode_t mode) {
    util::UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        return fail(Errc::io, "cannot open ", root.string(), ": ", util::errno_text(errno));
    }
    const auto parts = UHS_TRY(rootfs::safe_components(relative, root.string()));
    const util::UniqueFd parent = UHS_TRY(rootfs::open_parent_beneath(
        root_fd.get(), parts, rootfs::CreateParents::yes, root.string()));
    const std::string& name = parts.back();
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
        return fail(Errc::io, "cannot replace /", relative, ": ", util::errno_text(errno));
    }
    util::UniqueFd out(::openat(parent.get(), name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) {
        return fail(Errc::io, "cannot create /", relative, ": ", util::errno_text(errno));
    }
    util::Status copied = util::read_chunks(from, [&](std::string_view chunk) {
        while (!chunk.empty()) {
            const ssize_t n = ::write(out.get(), chunk.data(), chunk.size());
            if (n <= 0) {
                return; // short: caught by the size check below
            }
            chunk.remove_prefix(static_cast<std::size_t>(n));
        }
    });
    UHS_CHECK(copied);
    struct stat in {
    }, st{};
    if (::stat(from.c_str(), &in) != 0 || ::fstat(out.get(), &st) != 0 ||
        st.st_size != in.st_size || ::fchmod(out.get(), mode) != 0) {
        return fail(Errc::io, "cannot write /", relative, ": ", util::errno_text(errno));
    }
    return {};
}

} // namespace

fs::path default_stage_cache() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) {
        return fs::path(xdg) / "uhs" / "stages";
    }
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : "/root") / ".cache" / "uhs" / "stages";
}

std::string stage_key(const ImageIdInputs& inputs, const config::Cluster& cluster) {
    const nlohmann::json dpkg_subset{
        {"architecture", cluster.image.architecture},
        {"variant", config::to_string(cluster.image.variant)},
        {"packages", cluster.image.packages},
        {"kernel", cluster.image.kernel},
    };
    util::Sha256 hash;
    hash.update("uhs-stage-v2\n"); // v2: the root holds no initramfs (install_packages holds it)
    hash.update("lock " + inputs.lock_sha256.value_or("") + "\n");
    hash.update("dpkg " + dpkg_subset.dump() + "\n");
    hash.update("tool " + inputs.tool_version + "\n");
    return util::to_hex(hash.finish());
}

bool initramfs_may_read(std::string_view path) {
    // initramfs-tools has no systemd (its udev hook reads only *.link files under
    // etc/systemd/network, which stays in), and no hook of Debian's reads these.
    static constexpr std::array<std::string_view, 13> k_never_read = {
        "etc/systemd/system/",
        "usr/lib/systemd/system/",
        "etc/systemd/user/",
        "usr/lib/systemd/user/",
        "etc/kubernetes/",
        "etc/containerd/",
        "etc/cni/",
        "var/lib/kubelet/",
        "root/",
        "home/",
        "usr/share/doc/",
        "usr/share/man/",
        "etc/update-motd.d/",
    };
    if (path == "etc/motd" || path == "etc/issue" || path == "etc/issue.net") {
        return false;
    }
    return std::none_of(k_never_read.begin(), k_never_read.end(),
                        [&](std::string_view tree) { return path.starts_with(tree); });
}

fs::path StageCache::root_tar(const std::string& key) const {
    return m_dir / (key + ".tar");
}

util::Status StageCache::save_root(const fs::path& root, const std::string& key,
                                   std::int64_t source_date_epoch) const {
    const WriterLock lock = UHS_TRY(WriterLock::take(m_dir));
    (void)UHS_TRY(write_tree_tar(root, root_tar(key), TarOptions{source_date_epoch}));
    return {};
}

util::Status StageCache::restore_root(const std::string& key, const fs::path& root) const {
    const fs::path tar = root_tar(key);
    const util::ScopedUtf8Locale utf8; // the saved root's pax names are UTF-8
    // Streamed from disk, with every directory below the root dated back as saved (creating
    // its children moved it), so a root from the cache gives the same tar as the build that
    // saved it.
    rootfs::ExtractPolicy policy = rootfs::root_tree_policy();
    policy.directory_times = rootfs::DirectoryTimes::from_archive;
    (void)UHS_TRY(rootfs::extract_tar_file(tar, root, policy));
    // The root itself, which from_archive leaves alone: its entry ("./") is the first that
    // write_tree_tar writes, so the scan stops there.
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_filename(reader.get(), tar.c_str(), 1 << 16) != ARCHIVE_OK) {
        return fail(Errc::io, tar.string(), ": ", archive_error_string(reader.get()));
    }
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        if (archive_entry_filetype(entry) != AE_IFDIR ||
            !UHS_TRY(rootfs::safe_components(archive_entry_pathname(entry), tar.string()))
                 .empty()) {
            continue;
        }
        const timespec times[2] = {{archive_entry_mtime(entry), 0},
                                   {archive_entry_mtime(entry), 0}};
        if (::utimensat(AT_FDCWD, root.c_str(), times, 0) != 0) {
            return fail(Errc::io, "cannot date ", root.string(), ": ", util::errno_text(errno));
        }
        break;
    }
    return {};
}

util::Result<bool>
StageCache::restore_initramfs(const std::string& key, const fs::path& root,
                              const std::vector<std::string>& overlay_paths) const {
    const std::vector<std::string> versions = rootfs::installed_kernels(root);
    const fs::path entries = m_dir / (key + ".initramfs");
    std::error_code ec;
    if (versions.empty() || !fs::is_directory(entries, ec)) {
        return false;
    }
    for (const std::string& digest : UHS_TRY(util::list_dir_sorted(entries))) {
        if (digest.starts_with('.')) {
            continue;
        }
        const fs::path entry = entries / digest;
        auto listing_text = util::read_file(entry / "listing");
        if (!listing_text) {
            continue;
        }
        std::set<std::string> listing;
        for (std::string_view line : util::split(*listing_text, '\n')) {
            if (!line.empty()) {
                listing.emplace(line);
            }
        }
        if (UHS_TRY(inputs_digest(root, overlay_paths, listing)) != digest) {
            continue;
        }
        for (const std::string& version : versions) {
            for (const auto& [name, relative] :
                 {std::pair{"initrd.img-" + version, initrd_of(version)},
                  std::pair{"state-" + version, state_of(version)}}) {
                struct stat st {};
                if (::stat((entry / name).c_str(), &st) != 0) {
                    if (name.starts_with("state-")) {
                        continue; // none was kept
                    }
                    return fail(Errc::io, "the stage cache entry ", entry.string(), " has no ",
                                name, ": remove it");
                }
                UHS_CHECK(place_beneath(root, relative, entry / name, st.st_mode & 07777));
            }
        }
        return true;
    }
    return false;
}

util::Status StageCache::save_initramfs(const std::string& key, const fs::path& root,
                                        const std::vector<std::string>& overlay_paths) const {
    const std::vector<std::string> versions = rootfs::installed_kernels(root);
    std::set<std::string> listing;
    for (const std::string& version : versions) {
        for (std::string member : UHS_TRY(bootcfg::initramfs_members(root / initrd_of(version)))) {
            if (member.starts_with("./")) {
                member.erase(0, 2);
            }
            listing.insert(std::move(member));
        }
    }
    const std::string digest = UHS_TRY(inputs_digest(root, overlay_paths, listing));
    const WriterLock lock = UHS_TRY(WriterLock::take(m_dir));
    const fs::path entries = m_dir / (key + ".initramfs");
    const fs::path entry = entries / digest;
    std::error_code ec;
    if (fs::exists(entry / "listing", ec)) {
        return {}; // made from the same inputs: the same bytes (and a reader may be using it)
    }
    UHS_CHECK(util::create_dirs(entries));
    std::string temp = (m_dir / ("." + key + ".initramfs.tmp.XXXXXX")).string();
    if (::mkdtemp(temp.data()) == nullptr) {
        return fail(Errc::io, "cannot create a temp directory in ", m_dir.string(), ": ",
                    util::errno_text(errno));
    }
    std::string listing_text;
    for (const std::string& member : listing) {
        listing_text += member + "\n";
    }
    for (const std::string& version : versions) {
        UHS_CHECK(
            util::copy_file(root / initrd_of(version), fs::path(temp) / ("initrd.img-" + version)));
        if (fs::exists(root / state_of(version))) { // update-initramfs' record, where it keeps one
            UHS_CHECK(
                util::copy_file(root / state_of(version), fs::path(temp) / ("state-" + version)));
        }
    }
    UHS_CHECK(util::write_file_atomic(fs::path(temp) / "listing", listing_text));
    fs::remove_all(entry, ec); // a half entry without its listing, from before this lock
    if (::rename(temp.c_str(), entry.c_str()) != 0) {
        const int err = errno;
        fs::remove_all(temp, ec);
        return fail(Errc::io, "cannot rename ", temp, " to ", entry.string(), ": ",
                    util::errno_text(err));
    }
    return {};
}

} // namespace uhs::image
