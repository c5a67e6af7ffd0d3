// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace uhs::image {

// One partition of a disk image, as seen from inside it.
struct GuestPartition {
    std::string device;  // "/dev/sda1"
    int number = 0;      // 1-based
    int mbr_id = 0;      // MBR type byte (0x0c FAT32 LBA, 0x83 Linux)
    std::string fs_type; // "vfat", "ext4", or "" when unknown
    std::string label;
};

// A disk image opened read-only by something that can read its filesystems (libguestfs in
// production; a fake in tests). Each call is independent: it mounts what it needs.
class DiskInspector {
public:
    virtual ~DiskInspector() = default;
    virtual util::Result<std::vector<GuestPartition>> partitions() = 0;
    // Runs the filesystem's checker without repairing anything it does not have to; fails
    // with the checker's message when the filesystem has errors.
    virtual util::Status check_filesystem(const GuestPartition& partition) = 0;
    // Writes the partition's whole filesystem to `out` as a tar with numeric owners ("./x").
    virtual util::Status tar_out(const GuestPartition& partition,
                                 const std::filesystem::path& out) = 0;
};

// Opens `disk` read-only in a libguestfs appliance. When the CPU has no hardware
// virtualisation (no vmx/svm, as on this project's CI machines) the appliance runs under TCG.
util::Result<std::unique_ptr<DiskInspector>> open_with_guestfs(const std::filesystem::path& disk);

using InspectorFactory =
    std::function<util::Result<std::unique_ptr<DiskInspector>>(const std::filesystem::path&)>;

// One line of the verdict: what was checked and whether it held.
struct VerifyCheck {
    std::string what; // "manifest: rootfs.tar", "disk.img: partition 2 (ext4)"
    bool ok = false;
    std::string detail; // why not, or a short fact when it held
};

struct VerifyReport {
    std::vector<VerifyCheck> checks;
    bool ok() const;
};

// Checks a built image directory (out/<image-id>/):
//  1. every file manifest.json lists is there with its size and SHA-256, and nothing else is;
//  2. when disk.img exists, from the inside: an MBR with a FAT32 boot partition (type 0x0c)
//     and an ext4 root (0x83), both clean by fsck.fat / e2fsck -f; the boot partition holds
//     exactly the files of boot/ with the manifest's hashes; the root holds rootfs.tar member
//     for member (type, mode, owner, mtime, link target, content; lost+found aside).
// Fails (an error, not a report) only when the directory or its manifest cannot be read.
util::Result<VerifyReport> verify_image(const std::filesystem::path& image_dir,
                                        const InspectorFactory& open_disk);

} // namespace uhs::image
