// SPDX-License-Identifier: Apache-2.0
#include "builder/image/disk_image.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>

#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

constexpr std::uint64_t k_mib = std::uint64_t{1} << 20;
constexpr std::uint64_t k_sector = 512;

struct FdiskContextDeleter {
    void operator()(fdisk_context* c) const { fdisk_unref_context(c); }
};
struct FdiskPartitionDeleter {
    void operator()(fdisk_partition* p) const { fdisk_unref_partition(p); }
};
struct FdiskParttypeDeleter {
    void operator()(fdisk_parttype* t) const { fdisk_unref_parttype(t); }
};
using FdiskContext = std::unique_ptr<fdisk_context, FdiskContextDeleter>;
using FdiskPartition = std::unique_ptr<fdisk_partition, FdiskPartitionDeleter>;
using FdiskParttype = std::unique_ptr<fdisk_parttype, FdiskParttypeDeleter>;

std::string uuid_from(const util::Sha256Digest& d) {
    char text[37];
    // RFC 4122 version 4 layout, the bits fixed so tools accept it.
    std::snprintf(text, sizeof text,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0],
                  d[1], d[2], d[3], d[4], d[5], (d[6] & 0x0f) | 0x40, d[7], (d[8] & 0x3f) | 0x80,
                  d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
    return text;
}

util::Sha256Digest derive(std::string_view image_id, std::string_view purpose) {
    util::Sha256 hash;
    hash.update("uhs-disk-v1\n");
    hash.update(purpose);
    hash.update("\n");
    hash.update(image_id);
    return hash.finish();
}

std::uint32_t u32(const util::Sha256Digest& d) {
    return (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) |
           d[3];
}

util::Status run_tool(util::CommandRunner& runner, util::Command command) {
    const std::string tool = command.argv.front();
    auto result = runner.run(command);
    if (!result) {
        return fail(result.error().code, tool, ": ", result.error().message);
    }
    if (result->exit_code != 0) {
        std::string message(util::trim(result->err.empty() ? result->out : result->err));
        if (auto newline = message.find('\n'); newline != std::string::npos) {
            message = message.substr(0, newline);
        }
        return fail(Errc::failed, tool, " failed (exit ", std::to_string(result->exit_code),
                    "): ", message);
    }
    return {};
}

util::Status write_partition_table(const std::string& path, const DiskLayout& layout,
                                   std::uint32_t disk_id) {
    FdiskContext cxt(fdisk_new_context());
    if (!cxt || fdisk_assign_device(cxt.get(), path.c_str(), 0) != 0) {
        return fail(Errc::io, "libfdisk cannot open ", path);
    }
    char id[16];
    std::snprintf(id, sizeof id, "0x%08x", disk_id);
    if (fdisk_create_disklabel(cxt.get(), "dos") != 0 ||
        fdisk_set_disklabel_id_from_string(cxt.get(), id) != 0) {
        return fail(Errc::io, "libfdisk cannot create the MBR on ", path);
    }
    fdisk_label* label = fdisk_get_label(cxt.get(), "dos");
    const struct {
        std::uint64_t offset, size;
        unsigned code;
    } parts[] = {{layout.boot_offset, layout.boot_size, 0x0c},  // FAT32 (LBA)
                 {layout.root_offset, layout.root_size, 0x83}}; // Linux
    for (std::size_t i = 0; i < 2; ++i) {
        FdiskPartition part(fdisk_new_partition());
        FdiskParttype type(fdisk_label_get_parttype_from_code(label, parts[i].code));
        if (!part || !type || fdisk_partition_set_partno(part.get(), i) != 0 ||
            fdisk_partition_set_start(part.get(), parts[i].offset / k_sector) != 0 ||
            fdisk_partition_set_size(part.get(), parts[i].size / k_sector) != 0 ||
            fdisk_partition_set_type(part.get(), type.get()) != 0 ||
            fdisk_add_partition(cxt.get(), part.get(), nullptr) != 0) {
            return fail(Errc::io, "libfdisk cannot add partition ", std::to_string(i + 1));
        }
    }
    // The boot partition is marked active, as Raspberry Pi images are.
    if (fdisk_toggle_partition_flag(cxt.get(), 0, DOS_FLAG_ACTIVE) != 0 ||
        fdisk_write_disklabel(cxt.get()) != 0 || fdisk_deassign_device(cxt.get(), 0) != 0) {
        return fail(Errc::io, "libfdisk cannot write the MBR to ", path);
    }
    return {};
}

// Copies `dir` into the FAT at `image@@offset`, one directory at a time in sorted order:
// mcopy -s would follow readdir order, which differs between filesystems. No -m: that would
// stamp each file with its mtime in boot/, which tells when the build ran; without it mtools
// stamps files, like the directories mmd makes, with SOURCE_DATE_EPOCH.
util::Status copy_tree_to_fat(util::CommandRunner& runner, const std::string& target,
                              const fs::path& root, const std::string& relative,
                              const std::vector<std::string>& env) {
    const fs::path dir = relative.empty() ? root : root / relative;
    const auto names = UHS_TRY(util::list_dir_sorted(dir));
    std::vector<std::string> files;
    std::vector<std::string> subdirs;
    for (const std::string& name : names) {
        std::error_code ec;
        (fs::is_directory(dir / name, ec) ? subdirs : files).push_back(name);
    }
    const std::string fat_dir = "::/" + relative + (relative.empty() ? "" : "/");
    if (!files.empty()) {
        util::Command mcopy{{"mcopy", "-i", target}, {}, env, ""};
        for (const std::string& name : files) {
            mcopy.argv.push_back((dir / name).string());
        }
        mcopy.argv.push_back(fat_dir);
        UHS_CHECK(run_tool(runner, mcopy));
    }
    for (const std::string& name : subdirs) {
        const std::string child = relative.empty() ? name : relative + "/" + name;
        UHS_CHECK(run_tool(runner, {{"mmd", "-i", target, "::/" + child}, {}, env, ""}));
        UHS_CHECK(copy_tree_to_fat(runner, target, root, child, env));
    }
    return {};
}

} // namespace

DiskIds DiskIds::from_image_id(std::string_view image_id) {
    return DiskIds{u32(derive(image_id, "mbr")), u32(derive(image_id, "fat")),
                   uuid_from(derive(image_id, "ext4-uuid")),
                   uuid_from(derive(image_id, "ext4-hash-seed"))};
}

std::string root_partuuid(const DiskIds& ids) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x-02", ids.disk_id);
    return text;
}

util::Status check_mke2fs(util::CommandRunner& runner) {
    auto result = runner.run({{"mke2fs", "-V"}, {}, {}, ""});
    if (!result) {
        return fail(Errc::not_found, "mke2fs not found: apt-get install e2fsprogs");
    }
    // "mke2fs 1.47.2 (1-Jan-2025)" on stderr.
    const std::string text = result->err + result->out;
    unsigned major = 0, minor = 0, patch = 0;
    const auto at = text.find("mke2fs ");
    if (at == std::string::npos ||
        std::sscanf(text.c_str() + at, "mke2fs %u.%u.%u", &major, &minor, &patch) < 2) {
        return fail(Errc::failed, "cannot read the mke2fs version from '",
                    std::string(util::trim(text)), "'");
    }
    if (std::tie(major, minor, patch) < std::tuple(1u, 47u, 1u)) {
        return fail(Errc::not_found, "mke2fs ", std::to_string(major), ".", std::to_string(minor),
                    ".", std::to_string(patch),
                    " cannot build ext4 from a tar reproducibly (needs 1.47.1 or later; on Debian "
                    "12: apt-get install -t bookworm-backports e2fsprogs)");
    }
    return {};
}

util::Result<DiskLayout> write_disk_image(const fs::path& boot_dir, const fs::path& rootfs_tar,
                                          const fs::path& out, const DiskImageOptions& options,
                                          util::CommandRunner& runner) {
    UHS_CHECK(check_mke2fs(runner));
    std::error_code ec;
    const auto tar_size = fs::file_size(rootfs_tar, ec);
    if (ec) {
        return fail(Errc::io, "cannot read ", rootfs_tar.string(), ": ", ec.message());
    }
    auto round_mib = [](std::uint64_t bytes) {
        return (bytes + k_mib - 1) / k_mib * k_mib;
    };
    DiskLayout layout;
    layout.boot_offset = k_mib;
    layout.boot_size = round_mib(options.boot_size);
    layout.root_offset = layout.boot_offset + layout.boot_size;
    // Room for metadata and a little growth: 1.25 x the tar plus 64 MiB.
    layout.root_size = round_mib(options.root_size != 0 ? options.root_size
                                                        : tar_size + tar_size / 4 + 64 * k_mib);
    layout.total_size = layout.root_offset + layout.root_size;

    util::AtomicFile file = UHS_TRY(util::AtomicFile::create(out));
    const std::string temp = file.temp_path().string();
    if (::ftruncate(file.fd(), static_cast<off_t>(layout.total_size)) != 0) {
        return fail(Errc::io, "cannot size ", temp, ": ", util::errno_text(errno));
    }
    UHS_CHECK(write_partition_table(temp, layout, options.ids.disk_id));

    const std::vector<std::string> env{
        "SOURCE_DATE_EPOCH=" + std::to_string(options.source_date_epoch),
        "E2FSPROGS_FAKE_TIME=" + std::to_string(options.source_date_epoch), "MTOOLS_SKIP_CHECK=1",
        "TZ=UTC"};
    char volume_id[16];
    std::snprintf(volume_id, sizeof volume_id, "%08x", options.ids.fat_volume_id);
    UHS_CHECK(
        run_tool(runner, {{"mkfs.vfat", "--invariant", "-i", volume_id, "-n", "BOOT", "-F", "32",
                           "-s", "1", "--offset=" + std::to_string(layout.boot_offset / k_sector),
                           temp, std::to_string(layout.boot_size / 1024)},
                          {},
                          env,
                          ""}));
    const std::string fat = temp + "@@" + std::to_string(layout.boot_offset);
    UHS_CHECK(copy_tree_to_fat(runner, fat, boot_dir, "", env));
    if (!options.extra_boot_dir.empty()) {
        for (const std::string& name : UHS_TRY(util::list_dir_sorted(options.extra_boot_dir))) {
            if (fs::exists(fs::symlink_status(boot_dir / name))) {
                return fail(Errc::failed, "both ", boot_dir.string(), " and ",
                            options.extra_boot_dir.string(), " hold ", name,
                            ": the boot partition can take only one");
            }
        }
        UHS_CHECK(copy_tree_to_fat(runner, fat, options.extra_boot_dir, "", env));
    }

    UHS_CHECK(run_tool(
        runner, {{"mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "rootfs", "-U",
                  options.ids.ext4_uuid, "-E",
                  "hash_seed=" + options.ids.ext4_hash_seed +
                      ",root_owner=0:0,offset=" + std::to_string(layout.root_offset),
                  "-d", rootfs_tar.string(), temp, std::to_string(layout.root_size / 1024) + "k"},
                 {},
                 env,
                 ""}));
    UHS_CHECK(file.commit(0644));
    return layout;
}

} // namespace uhs::image
