// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one tar extraction policy of uhs. The build's packages (data.tar of each .deb), the
// stage cache's saved roots and publish's rootfs.tar go through the same extractor, so no
// name in a tar can write outside the root: each is split by safe_components (no absolute
// names, no '..'), each parent is opened beneath the root without following a symlink
// (open_parent_beneath), and each file appears whole (temp + rename).

#include "builder/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct archive;

namespace uhs::rootfs {

enum class AllowDevices { no, yes };

// apply: every entry gets the archive's owner, or the extraction fails. best_effort: an owner
// the filesystem refuses (not root, an NFS server squashing root) is left as created, as tar
// and libarchive's disk writer do; publish writes into an NFS mount it does not control.
// ignore: owners are not set at all.
enum class Ownership { apply, best_effort, ignore };

// as_created: a directory keeps the mtime its children gave it. from_archive: after the last
// entry every directory below the root gets its own mtime back (creating its children moved
// it), as libarchive's disk writer does, so a published tree is dated like rootfs.tar.
enum class DirectoryTimes { as_created, from_archive };

struct ExtractPolicy {
    AllowDevices allow_devices = AllowDevices::no;
    Ownership ownership = Ownership::apply;
    DirectoryTimes directory_times = DirectoryTimes::as_created;
    std::uint64_t max_entry_size = std::uint64_t{4} << 30; // a single file, 4 GiB
    std::uint64_t max_total_size = std::uint64_t{16} << 30;
    // Top-level names that are symlinks into usr/ on a merged-/usr system ("bin" -> usr/bin):
    // entries under them are written below usr/ directly, never through the link.
    std::vector<std::string> merged_usr_aliases{"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
};

// A whole root filesystem the build wrote (rootfs.tar, a saved stage): device nodes allowed,
// no merged-/usr aliasing (the tree has its links already), up to 64 GiB in all.
ExtractPolicy root_tree_policy();

struct ExtractReport {
    // Every path the archive installed, as dpkg lists them ("/usr/bin/x"), in archive order.
    std::vector<std::string> paths;
    std::uint64_t bytes = 0;
};

// Extracts what `reader` (an open libarchive reader) yields below `root`, refusing anything
// that could write outside it: absolute names, '..', writes through symlinks, hard links
// leaving the tree, device nodes (unless allowed), entries over the size limits. `name`
// begins each entry's messages ("pkg_1.0_arm64.deb: ./usr/bin/x: ..."), `what` names the tar
// when it cannot be read. Invalid or refused content is Errc::invalid_input; what was
// extracted before a failure stays.
util::Result<ExtractReport> extract_entries(archive* reader, const std::string& name,
                                            const std::string& what,
                                            const std::filesystem::path& root,
                                            const ExtractPolicy& policy);

// extract_entries for a tar file (any compression libarchive reads), streamed from disk. The
// caller sets the character set (the build's pax names are UTF-8: util::ScopedUtf8Locale).
util::Result<ExtractReport> extract_tar_file(const std::filesystem::path& tar,
                                             const std::filesystem::path& root,
                                             const ExtractPolicy& policy);

// Removes the temp files (".uhs-extract-N") an extraction that was cut off left below `root`,
// without following symlinks, before extracting again over the same tree (publish onto a
// half-filled dataset); a fresh root has none. Returns how many were removed.
util::Result<std::size_t> remove_extract_leftovers(const std::filesystem::path& root);

} // namespace uhs::rootfs
