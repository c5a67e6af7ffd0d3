// SPDX-License-Identifier: Apache-2.0
#include "builder/image/build.hpp"

#include "builder/apt/lockfile.hpp"
#include "builder/fetch/store.hpp"
#include "builder/image/disk_image.hpp"
#include "builder/image/manifest.hpp"
#include "builder/image/node_trees.hpp"
#include "builder/image/plan.hpp"
#include "builder/image/state_files.hpp"
#include "builder/image/tar_writer.hpp"
#include "builder/rootfs/binfmt.hpp"
#include "builder/rootfs/configure.hpp"
#include "builder/rootfs/extract.hpp"
#include "builder/rootfs/normalize.hpp"
#include "builder/rootfs/overlay.hpp"
#include "builder/rootfs/safe_path.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/locale.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/boot_chain.hpp"
#include "firmware/bootcfg/node_boot.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
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

class Clock {
public:
    double lap() {
        const auto now = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(now - m_last).count();
        m_last = now;
        return s;
    }

private:
    std::chrono::steady_clock::time_point m_last = std::chrono::steady_clock::now();
};

util::Status copy_boot_file(const fs::path& from, const fs::path& to) {
    UHS_CHECK(util::copy_file(from, to));
    ::chmod(to.c_str(), 0644);
    return {};
}

// `from` gzip-compressed into `to` (best compression, no name, no time: the same bytes for the
// same input), as `gzip -9 -n` would; for kernels the firmware inflates itself.
util::Status gzip_boot_file(const fs::path& from, const fs::path& to) {
    util::AtomicFile out = UHS_TRY(util::AtomicFile::create(to));
    util::ArchiveWriter writer(archive_write_new());
    archive_write_set_format_raw(writer.get());
    archive_write_add_filter_gzip(writer.get());
    if (archive_write_set_filter_option(writer.get(), "gzip", "compression-level", "9") !=
            ARCHIVE_OK ||
        archive_write_set_filter_option(writer.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK ||
        archive_write_open_fd(writer.get(), out.fd()) != ARCHIVE_OK) {
        return fail(Errc::io, "cannot gzip ", from.string(), ": ",
                    archive_error_string(writer.get()));
    }
    util::ArchiveEntry entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), "kernel");
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK) {
        return fail(Errc::io, "cannot gzip ", from.string(), ": ",
                    archive_error_string(writer.get()));
    }
    bool written = true;
    UHS_CHECK(util::read_chunks(from, [&](std::string_view chunk) {
        written = written && archive_write_data(writer.get(), chunk.data(), chunk.size()) ==
                                 static_cast<la_ssize_t>(chunk.size());
    }));
    if (!written || archive_write_close(writer.get()) != ARCHIVE_OK) {
        return fail(Errc::io, "cannot gzip ", from.string(), " to ", to.string(), ": ",
                    archive_error_string(writer.get()));
    }
    return out.commit(0644);
}

// Regular files of `dir` (not following symlinks out of the root), sorted.
std::vector<std::string> regular_files(const fs::path& dir, std::string_view suffix = "") {
    std::vector<std::string> out;
    auto names = util::list_dir_sorted(dir);
    if (!names) {
        return out;
    }
    for (const std::string& name : *names) {
        struct stat st {};
        if (::lstat((dir / name).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            name.ends_with(suffix)) {
            out.push_back(name);
        }
    }
    return out;
}

// boot/: the kernel and initramfs under the names the Pi firmware asks for, the device trees
// of the installed kernel (and raspi-firmware's files where present), overlays/. Returns the
// kernel's version. Whether a node can boot from it is check_boot_chain's job.
util::Result<std::string> assemble_boot(const config::Cluster& cluster, const fs::path& root,
                                        const fs::path& boot) {
    UHS_CHECK(util::create_dirs(boot / "overlays"));
    std::string version;
    for (const std::string& name : regular_files(root / "boot")) {
        if (name.starts_with("vmlinuz-")) {
            version = name.substr(8); // the last in sorted order
        }
    }
    if (version.empty()) {
        return fail(Errc::failed, "no kernel in the root's /boot (vmlinuz-*): is image.kernel '",
                    cluster.image.kernel, "' a kernel package?");
    }
    const fs::path kernel = root / "boot" / ("vmlinuz-" + version);
    const fs::path initrd = root / "boot" / ("initrd.img-" + version);
    if (!fs::is_regular_file(fs::symlink_status(initrd))) {
        return fail(Errc::failed, "no initramfs /boot/initrd.img-", version,
                    " in the root: add initramfs-tools to image.packages");
    }
    // raspi-firmware's blobs and overlays first, so the kernel's device trees win.
    const fs::path firmware = root / "usr/lib/raspi-firmware";
    for (const std::string& name : regular_files(firmware)) {
        UHS_CHECK(copy_boot_file(firmware / name, boot / name));
    }
    for (const fs::path& dir :
         {firmware / "overlays",
          root / "usr/lib" / ("linux-image-" + version) / "broadcom" / "overlays"}) {
        for (const std::string& name : regular_files(dir)) {
            UHS_CHECK(copy_boot_file(dir / name, boot / "overlays" / name));
        }
    }
    const fs::path dtbs = root / "usr/lib" / ("linux-image-" + version) / "broadcom";
    for (const std::string& name : regular_files(dtbs, ".dtb")) {
        UHS_CHECK(copy_boot_file(dtbs / name, boot / name));
    }
    std::set<std::string> done;
    for (const config::Node& node : cluster.nodes) {
        const BootFiles files = boot_files_for(node.model);
        if (!files.kernel.empty() && done.insert(files.kernel).second) {
            UHS_CHECK(config::board_for(node.model).gzip_kernel
                          ? gzip_boot_file(kernel, boot / files.kernel)
                          : copy_boot_file(kernel, boot / files.kernel));
            UHS_CHECK(copy_boot_file(initrd, boot / files.initramfs));
        }
    }
    return version;
}

// Every node's boot chain against boot/ and the root's kernel (see boot_chain.hpp).
std::vector<bootcfg::Finding> check_nodes(const config::Cluster& cluster, std::string_view image_id,
                                          const fs::path& root, const fs::path& boot,
                                          const std::string& kernel_version) {
    std::vector<bootcfg::NodeBoot> nodes;
    for (const config::Node& node : cluster.nodes) {
        nodes.push_back({node.name, node.model, bootcfg::render_config_txt(cluster, node, image_id),
                         bootcfg::render_cmdline(cluster, node, image_id)});
    }
    const bootcfg::ChainLimits limits{
        .kubernetes = !cluster.kubernetes.version.empty(),
        .bootloader = cluster.firmware.bootloader,
        .tftp_file_timeout_ms = cluster.firmware.tftp_file_timeout_ms,
    };
    return bootcfg::check_boot_chain(nodes, boot, bootcfg::read_kernel_facts(root, kernel_version),
                                     limits);
}

// cluster.ssh_authorized_keys as root's /root/.ssh/authorized_keys: the admin login `cluster up`
// and an operator use (Debian's sshd allows root with a key, never with a password). Laid like
// an overlay, so it never writes through a symlink the packages left in the root.
util::Status install_authorized_keys(const config::Cluster& cluster, const fs::path& root,
                                     std::int64_t sde) {
    if (cluster.cluster.ssh_authorized_keys.empty()) {
        return {};
    }
    auto overlay = UHS_TRY(util::TempDir::create("uhs-authorized-keys-"));
    UHS_CHECK(util::create_dirs(overlay.path() / "root/.ssh"));
    std::string keys;
    for (const std::string& key : cluster.cluster.ssh_authorized_keys) {
        keys += key + "\n";
    }
    UHS_CHECK(util::write_file_atomic(overlay.path() / "root/.ssh/authorized_keys", keys, 0644));
    (void)UHS_TRY(rootfs::apply_overlay(overlay.path(), root, sde));
    return {};
}

// Dates every entry of `dir` (and `dir`) SOURCE_DATE_EPOCH: the FAT partition of disk.img
// records the copies' times, which would otherwise be the wall clock of the build.
util::Status clamp_tree_mtimes(const fs::path& dir, std::int64_t epoch) {
    const timespec times[2] = {{static_cast<time_t>(epoch), 0}, {static_cast<time_t>(epoch), 0}};
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        ::utimensat(AT_FDCWD, it->path().c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    if (ec || ::utimensat(AT_FDCWD, dir.c_str(), times, 0) != 0) {
        return fail(Errc::io, "cannot date ", dir.string(), ": ",
                    ec ? ec.message() : util::errno_text(errno));
    }
    return {};
}

std::vector<SbomPackage> sbom_packages(const apt::LockFile& lock) {
    std::vector<SbomPackage> packages;
    for (const auto& p : lock.packages) {
        packages.push_back({p.name, p.version, p.architecture, p.source_package, p.path, p.sha256});
    }
    return packages;
}

// An exclusive flock(2) on `path` (a directory or a file), taken without waiting. Held until
// the descriptor closes: when the process ends, however it ends, the lock goes with it. Empty
// when another process holds it.
util::Result<std::optional<util::UniqueFd>> try_lock(const fs::path& path, int flags) {
    util::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
        return fail(Errc::io, "cannot open ", path.string(), ": ", util::errno_text(errno));
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            return std::optional<util::UniqueFd>();
        }
        return fail(Errc::io, "cannot lock ", path.string(), ": ", util::errno_text(errno));
    }
    return std::optional<util::UniqueFd>(std::move(fd));
}

constexpr std::string_view k_partial_marker = ".partial-";

// A build's work directory, OUT/.<image-id>.partial-XXXXXX: locked (flock) for as long as the
// build runs and removed when it ends. A build killed outright leaves it behind unlocked, and
// the next build in OUT removes it (sweep_dead_partials).
class TempTree {
public:
    static util::Result<TempTree> create(const fs::path& parent, const std::string& image_id) {
        // Made and locked under a name no sweeper looks at, then renamed: a sweeper never sees
        // it unlocked. (A build killed in between leaves an empty `.new-` directory.)
        std::string made = (parent / ("." + image_id + ".new-XXXXXX")).string();
        if (::mkdtemp(made.data()) == nullptr) {
            return fail(Errc::io, "cannot create a temp directory in ", parent.string(), ": ",
                        util::errno_text(errno));
        }
        TempTree tree{fs::path(made)};
        auto lock = UHS_TRY(try_lock(tree.m_path, O_RDONLY | O_DIRECTORY));
        if (!lock) {
            return fail(Errc::io, "cannot lock the new ", tree.m_path.string());
        }
        tree.m_lock = std::move(*lock);
        const fs::path named = parent / ("." + image_id + std::string(k_partial_marker) +
                                         made.substr(made.size() - 6));
        if (::renameat2(AT_FDCWD, made.c_str(), AT_FDCWD, named.c_str(), RENAME_NOREPLACE) != 0) {
            return fail(Errc::io, "cannot rename ", made, " to ", named.string(), ": ",
                        util::errno_text(errno));
        }
        tree.m_path = named;
        return tree;
    }
    TempTree(TempTree&& other) noexcept
        : m_path(std::exchange(other.m_path, {})), m_lock(std::move(other.m_lock)) {}
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;
    ~TempTree() {
        if (!m_path.empty()) {
            std::error_code ec;
            fs::remove_all(m_path, ec);
        }
    }
    const fs::path& path() const { return m_path; }

private:
    explicit TempTree(fs::path path) : m_path(std::move(path)) {}
    fs::path m_path;
    util::UniqueFd m_lock;
};

// Removes the work directories of builds in `out_dir` that are no longer running (no lock on
// them): a build killed by SIGKILL, a power cut or the OOM killer leaves hundreds of MB there.
util::Status sweep_dead_partials(const fs::path& out_dir,
                                 const std::function<void(std::string_view)>& say) {
    for (const std::string& name : UHS_TRY(util::list_dir_sorted(out_dir))) {
        if (!name.starts_with('.') || name.find(k_partial_marker) == std::string::npos) {
            continue;
        }
        const fs::path path = out_dir / name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            continue;
        }
        auto lock = try_lock(path, O_RDONLY | O_DIRECTORY);
        if (!lock && !fs::exists(fs::symlink_status(path))) {
            continue; // another build removed it first
        }
        if (!lock) {
            return std::unexpected(lock.error());
        }
        if (!*lock) {
            continue; // a live build's
        }
        // Held while removing it, so no other build sweeps it at the same time.
        // The dead build's last processes may still be going away: what is left now goes the
        // next time.
        std::error_code ec;
        fs::remove_all(path, ec);
        say(ec ? "could not yet remove " + path.string() +
                     " (left by a build that is no longer "
                     "running): " +
                     ec.message()
               : "removed " + path.string() + ", left by a build that is no longer running");
    }
    return {};
}

// Rewrites nodes/ of a complete image when the cluster's node identities changed (a module
// swapped: `enroll` wrote a new serial and MAC): the new tree is made beside the old one and
// exchanged with it in one rename, the old one (the dead module's directories among it) is
// removed, and manifest.json follows. Returns whether anything changed.
util::Result<bool> refresh_node_trees(const config::Cluster& cluster, const ImageIdInputs& inputs,
                                      const std::string& image_id, const fs::path& image_dir) {
    const fs::path nodes = image_dir / "nodes";
    // write_node_trees writes <dir>/nodes/<node>/ with links to ../../boot: a scratch directory
    // inside the image gives a fresh nodes/ whose links resolve once it takes nodes/'s place.
    const fs::path scratch = image_dir / ".nodes-refresh";
    const fs::path fresh = scratch / "nodes";
    std::error_code ec;
    fs::remove_all(scratch, ec);
    UHS_CHECK(util::create_dirs(scratch));
    if (auto written = write_node_trees(cluster, image_id, scratch); !written) {
        fs::remove_all(scratch, ec);
        return std::unexpected(written.error());
    }
    UHS_CHECK(util::create_dirs(fresh)); // a cluster with no enrolled node still has a nodes/
    ::chmod(fresh.c_str(), 0755);
    const bool had_nodes = fs::is_directory(nodes, ec);
    if (had_nodes && UHS_TRY(tree_sha256(nodes)) == UHS_TRY(tree_sha256(fresh))) {
        fs::remove_all(scratch, ec);
        return false;
    }
    if (had_nodes) {
        if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, nodes.c_str(), RENAME_EXCHANGE) != 0) {
            const int err = errno;
            fs::remove_all(scratch, ec);
            return fail(Errc::io, "cannot exchange ", nodes.string(), ": ", util::errno_text(err));
        }
    } else if (::rename(fresh.c_str(), nodes.c_str()) != 0) {
        const int err = errno;
        fs::remove_all(scratch, ec);
        return fail(Errc::io, "cannot move ", fresh.string(), " to ", nodes.string(), ": ",
                    util::errno_text(err));
    }
    fs::remove_all(scratch, ec); // holds the old tree now
    UHS_CHECK(write_manifest(image_dir, inputs));
    return true;
}

// The target's /var/log/dpkg.log, for the build's time summary. The root is the target's: the
// path is walked without following a symlink, and only a regular file of sane size is read.
std::optional<std::string> read_dpkg_log(const fs::path& root) {
    const util::UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    const std::vector<std::string> parts = {"var", "log", "dpkg.log"};
    if (!root_fd) {
        return std::nullopt;
    }
    const auto parent =
        rootfs::open_parent_beneath(root_fd.get(), parts, rootfs::CreateParents::no, root.string());
    if (!parent) {
        return std::nullopt;
    }
    const util::UniqueFd fd(::openat(parent->get(), parts.back().c_str(),
                                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        return std::nullopt;
    }
    auto text = util::read_input_fd(fd.get(), "/var/log/dpkg.log", 64u << 20);
    return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
}

} // namespace

util::Result<std::int64_t> lock_source_date_epoch(const fs::path& lock_file) {
    const apt::LockFile lock = UHS_TRY(apt::read_lock(lock_file));
    std::int64_t newest = 0;
    for (const auto& source : lock.sources) {
        std::tm tm{};
        const char* end = ::strptime(source.date.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (end == nullptr || *end != '\0') {
            return fail(Errc::invalid_input, lock_file.string(), ": source ", source.name,
                        ": date '", source.date, "' is not YYYY-MM-DDTHH:MM:SSZ");
        }
        newest = std::max<std::int64_t>(newest, ::timegm(&tm));
    }
    if (newest == 0) {
        return fail(Errc::invalid_input, lock_file.string(), ": no source with a date");
    }
    return newest;
}

util::Result<BuildStart> start_build(const config::Cluster& cluster, const BuildOptions& options) {
    BuildStart start;
    start.inputs = UHS_TRY(collect_image_id_inputs(cluster));
    start.lock = UHS_TRY(apt::read_current_lock(start.inputs.lock_file, cluster));
    if (!start.inputs.image_id()) { // the lock went away between the two reads
        return fail(Errc::io, "cannot hash ", start.inputs.lock_file.string());
    }
    start.image_id = *start.inputs.image_id();
    start.image_dir = options.out_dir / start.image_id;
    start.source_date_epoch = UHS_TRY(lock_source_date_epoch(start.inputs.lock_file));
    // --disk on an image built without it: build again (the id, and so the other bytes, stay).
    start.complete = image_is_complete(start.image_dir, start.image_id) &&
                     (!options.disk || fs::is_regular_file(start.image_dir / "disk.img"));
    return start;
}

util::Result<BuildResult> build_image(const config::Cluster& cluster, const BuildStart& start,
                                      const BuildOptions& options, rootfs::ChrootRunner& chroot,
                                      util::CommandRunner& commands) {
    auto say = [&](std::string_view line) {
        if (options.progress) {
            options.progress(line);
        }
    };
    // Every directory the build creates must have the same mode whatever the caller's umask.
    struct UmaskGuard {
        mode_t old = ::umask(022);
        ~UmaskGuard() { ::umask(old); }
    } umask_guard;
    Clock clock;
    const apt::LockFile& lock = start.lock;
    BuildResult result;
    result.image_id = start.image_id;
    result.image_dir = start.image_dir;
    result.stage_key = stage_key(start.inputs, cluster);
    result.source_date_epoch = start.source_date_epoch;
    if (start.complete) {
        result.up_to_date = true;
        result.nodes_refreshed =
            UHS_TRY(refresh_node_trees(cluster, start.inputs, result.image_id, result.image_dir));
        result.phases.push_back({"check", clock.lap()});
        return result;
    }
    const std::int64_t sde = result.source_date_epoch;
    // The fetch policy (apt::fill_store) is the caller's: here the store must be complete.
    const fetch::Store store(options.store_root);
    for (const auto& p : lock.packages) {
        if (!store.contains(p.sha256)) {
            return fail(Errc::not_found, "the locked package ", p.name, " ", p.version,
                        " is not in the store ", store.root().string(), "; run `uhs-image fetch ",
                        cluster.file.string(), "`");
        }
    }

    if (options.disk) {
        UHS_CHECK(check_mke2fs(commands));
    }
    UHS_CHECK(util::create_dirs(options.out_dir));
    const fs::path out_dir = fs::absolute(options.out_dir);
    UHS_CHECK(sweep_dead_partials(out_dir, say));
    const TempTree temp = UHS_TRY(TempTree::create(out_dir, result.image_id));
    const fs::path root = temp.path() / "root";
    const fs::path image = temp.path() / "image";
    const fs::path log = temp.path() / "dpkg.log";
    UHS_CHECK(util::create_dirs(root));
    UHS_CHECK(util::create_dirs(image));
    ::chmod(root.c_str(), 0755);
    ::chmod(image.c_str(), 0755);

    const StageCache stages(options.stage_cache);
    const fs::path cached = stages.root_tar(result.stage_key);
    if (options.use_cache && fs::is_regular_file(cached)) {
        say("configure: the configured root from the stage cache " + cached.string());
        UHS_CHECK(stages.restore_root(result.stage_key, root));
        result.stage_cache_hit = true;
        result.phases.push_back({"restore-stage", clock.lap()});
    } else {
        if (::geteuid() != 0) {
            return fail(Errc::refused,
                        "installing the packages needs root (file owners, chroot, mount "
                        "namespaces): run uhs-image build as root");
        }
        (void)UHS_TRY(rootfs::check_aarch64_binfmt(options.binfmt_dir));
        std::vector<rootfs::PackageFile> packages;
        for (const auto& p : lock.packages) {
            packages.push_back({p.name, store.path_for(p.sha256)});
        }
        rootfs::ConfigureOptions configure;
        configure.architecture = lock.architecture;
        configure.source_date_epoch = sde;
        configure.log = log;
        configure.progress = options.progress;
        configure.phase_done = [&](std::string_view phase) {
            result.phases.push_back({std::string(phase), clock.lap()});
        };
        if (auto installed = rootfs::install_packages(root, packages, configure, chroot);
            !installed) {
            // Keep the target's dpkg output where the user can read it.
            std::error_code ec;
            const fs::path kept = out_dir / (result.image_id + ".failed.log");
            fs::copy_file(log, kept, fs::copy_options::overwrite_existing, ec);
            return std::unexpected(installed.error());
        }
        // Read before normalize_rootfs removes it (the image must not carry build times).
        if (auto dpkg_log = read_dpkg_log(root)) {
            result.dpkg = rootfs::summarize_dpkg_log(*dpkg_log);
        }
        (void)UHS_TRY(rootfs::normalize_rootfs(root));
        if (options.use_cache) {
            say("cache: saving the configured root as " + cached.string());
            UHS_CHECK(stages.save_root(root, result.stage_key, sde));
            result.phases.push_back({"save-stage", clock.lap()});
        }
    }

    // What the overlays write, for the initramfs cache: which of it reaches the initramfs.
    std::vector<std::string> overlaid;
    auto lay = [&](const fs::path& overlay) -> util::Status {
        const auto written = UHS_TRY(rootfs::apply_overlay(overlay, root, sde));
        overlaid.insert(overlaid.end(), written.begin(), written.end());
        return {};
    };
    for (std::size_t i = 0; i < cluster.image.overlay_paths.size(); ++i) {
        say("overlay: " + cluster.image.overlays[i]);
        UHS_CHECK(lay(cluster.image.overlay_paths[i]));
    }
    // The node-state list and the units' RequiresMountsFor= drop-ins, rendered from uhs's own
    // list and storage.persist, and the initramfs's network drivers from the board table, laid
    // over the root like one more overlay (same modes, owners and mtimes).
    {
        const fs::path generated = temp.path() / "state-files";
        std::vector<GeneratedFile> files = render_state_files(cluster);
        for (GeneratedFile& file : render_initramfs_files(cluster)) {
            files.push_back(std::move(file));
        }
        UHS_CHECK(write_generated_tree(files, generated));
        say("overlay: (generated) node state list, drop-ins, the initramfs's network drivers");
        UHS_CHECK(lay(generated));
    }
    UHS_CHECK(install_authorized_keys(cluster, root, sde)); // /root/.ssh: never in the initramfs
    result.phases.push_back({"overlays", clock.lap()});
    // The image's one initramfs (install_packages held the packages' own runs), made after the
    // overlays so the NFS-root overlay script and the modules the overlays ask for are in it.
    {
        rootfs::ConfigureOptions initramfs;
        initramfs.architecture = lock.architecture;
        initramfs.source_date_epoch = sde;
        initramfs.log = log;
        initramfs.progress = options.progress;
        // Made again only when what it is made from changed: the packages (the stage key) or
        // an overlay's file it reads (StageCache::restore_initramfs). A root whose
        // post-update hooks copy the initramfs elsewhere is never served from the cache.
        const bool post_update_hooks = !util::list_dir_sorted(root / "etc/initramfs/post-update.d")
                                            .value_or(std::vector<std::string>{})
                                            .empty();
        const bool cacheable = options.use_cache && !post_update_hooks;
        if (cacheable && UHS_TRY(stages.restore_initramfs(result.stage_key, root, overlaid))) {
            say("initramfs: from the stage cache (nothing it is made from changed)");
            result.initramfs_cache_hit = true;
            result.phases.push_back({"initramfs-cache", clock.lap()});
        } else if (UHS_TRY(rootfs::regenerate_initramfs(root, initramfs, chroot))) {
            result.phases.push_back({"initramfs", clock.lap()});
            if (cacheable) {
                UHS_CHECK(stages.save_initramfs(result.stage_key, root, overlaid));
                result.phases.push_back({"save-initramfs", clock.lap()});
            }
        }
    }
    (void)UHS_TRY(rootfs::normalize_rootfs(root));

    say("artifacts: boot/, rootfs.tar, nodes/, sbom.spdx.json" +
        std::string(options.disk ? ", disk.img" : ""));
    const std::string kernel_version = UHS_TRY(assemble_boot(cluster, root, image / "boot"));
    UHS_CHECK(clamp_tree_mtimes(image / "boot", sde));
    result.phases.push_back({"boot", clock.lap()});
    // A node that could not boot from this image fails the build, before anything is renamed
    // into place; the findings stay beside the output for `uhs-image plan`.
    result.boot_chain = check_nodes(cluster, result.image_id, root, image / "boot", kernel_version);
    const std::string chain_json = boot_chain_to_json(result.boot_chain).dump(2) + "\n";
    const fs::path failed_chain = out_dir / (result.image_id + ".boot-chain.json");
    std::string refused;
    for (const bootcfg::Finding& finding : result.boot_chain) {
        if (!finding.ok) {
            refused += "\n  " + finding.to_line();
        }
    }
    if (!refused.empty()) {
        UHS_CHECK(util::write_file_atomic(failed_chain, chain_json));
        return fail(Errc::failed, "a node could not boot from this image (kernel ", kernel_version,
                    "; the findings are in ", failed_chain.string(), "):", refused);
    }
    std::error_code removed;
    fs::remove(failed_chain, removed);
    UHS_CHECK(util::write_file_atomic(image / "boot-chain.json", chain_json));
    result.phases.push_back({"boot-chain", clock.lap()});
    (void)UHS_TRY(write_tree_tar(root, image / "rootfs.tar", TarOptions{sde}));
    result.phases.push_back({"rootfs.tar", clock.lap()});
    UHS_CHECK(write_node_trees(cluster, result.image_id, image));
    const nlohmann::json sbom = make_spdx_sbom(result.image_id, sbom_packages(lock), sde);
    UHS_CHECK(util::write_file_atomic(image / "sbom.spdx.json", sbom.dump(2) + "\n"));
    if (options.disk) {
        DiskImageOptions disk;
        disk.source_date_epoch = sde;
        disk.ids = DiskIds::from_image_id(result.image_id);
        // disk-boot/: what the disk's boot partition has besides boot/, kept beside it so the
        // manifest lists it and `verify` can check the partition against it.
        disk.extra_boot_dir = image / "disk-boot";
        UHS_CHECK(util::create_dirs(disk.extra_boot_dir));
        UHS_CHECK(
            util::write_file_atomic(disk.extra_boot_dir / "config.txt",
                                    bootcfg::render_disk_config_txt(cluster, result.image_id)));
        UHS_CHECK(util::write_file_atomic(
            disk.extra_boot_dir / "cmdline.txt",
            bootcfg::render_disk_cmdline(root_partuuid(disk.ids), result.image_id)));
        UHS_CHECK(clamp_tree_mtimes(disk.extra_boot_dir, sde));
        (void)UHS_TRY(write_disk_image(image / "boot", image / "rootfs.tar", image / "disk.img",
                                       disk, commands));
        result.phases.push_back({"disk.img", clock.lap()});
    }
    // manifest.json last: its presence marks the image complete.
    UHS_CHECK(write_manifest(image, start.inputs));

    std::error_code ec;
    if (fs::exists(fs::symlink_status(result.image_dir))) {
        // An earlier build of this id that did not finish: never a result, replace it.
        const fs::path stale = temp.path() / "stale";
        fs::rename(result.image_dir, stale, ec);
        if (ec) {
            return fail(Errc::io, "cannot move the incomplete ", result.image_dir.string(),
                        " aside: ", ec.message());
        }
    }
    fs::rename(image, out_dir / result.image_id, ec);
    if (ec) {
        return fail(Errc::io, "cannot rename the image into ", result.image_dir.string(), ": ",
                    ec.message());
    }
    result.phases.push_back({"manifest", clock.lap()});
    return result;
}

} // namespace uhs::image
