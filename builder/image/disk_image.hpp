// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"
#include "builder/util/subprocess.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace uhs::image {

// Identities inside a disk image. All derive from the image-id so two builds of the same
// image give the same bytes.
struct DiskIds {
    std::uint32_t disk_id = 0;       // MBR disk identifier
    std::uint32_t fat_volume_id = 0; // FAT volume serial
    std::string ext4_uuid;           // filesystem UUID of the root
    std::string ext4_hash_seed;      // htree hash seed (a UUID)

    static DiskIds from_image_id(std::string_view image_id);
};

struct DiskImageOptions {
    std::uint64_t boot_size = std::uint64_t{256} << 20; // FAT32 boot partition
    std::uint64_t root_size = 0;                        // ext4 root; 0 = from the tar's size
    std::int64_t source_date_epoch = 0;
    DiskIds ids;
    // Files the disk's boot partition has on top of `boot_dir` (its config.txt and
    // cmdline.txt, which differ from a netbooted node's): copied to the FAT's top level. A name
    // both directories hold is refused, so the partition never depends on which copy won.
    std::filesystem::path extra_boot_dir;
};

// The partition table as written (for checks and messages).
struct DiskLayout {
    std::uint64_t boot_offset = 0, boot_size = 0;
    std::uint64_t root_offset = 0, root_size = 0;
    std::uint64_t total_size = 0;
};

// The root partition's PARTUUID as the kernel sees it on this MBR: "<disk id>-02".
std::string root_partuuid(const DiskIds& ids);

// Writes a flashable disk image: an MBR (libfdisk) with a FAT32 boot partition holding the
// files of `boot_dir` and `options.extra_boot_dir` (mkfs.vfat --invariant, mtools, sorted, dated
// SOURCE_DATE_EPOCH) and an ext4 root made from `rootfs_tar` (mke2fs -d, which needs e2fsprogs
// >= 1.47.1 to be reproducible), both written at their offsets: no loop devices, no root. The image
// appears at `out` only when complete. Fails naming the tool and its message.
util::Result<DiskLayout> write_disk_image(const std::filesystem::path& boot_dir,
                                          const std::filesystem::path& rootfs_tar,
                                          const std::filesystem::path& out,
                                          const DiskImageOptions& options,
                                          util::CommandRunner& runner);

// Checks that mke2fs can build ext4 from a tar reproducibly (>= 1.47.1).
util::Status check_mke2fs(util::CommandRunner& runner);

} // namespace uhs::image
