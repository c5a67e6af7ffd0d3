// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/rootfs/chroot.hpp"
#include "builder/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::rootfs {

// A locked package and where its verified .deb is (the store).
struct PackageFile {
    std::string name;
    std::filesystem::path deb;
};

struct ConfigureOptions {
    std::string architecture = "arm64";
    std::int64_t source_date_epoch = 0;
    std::chrono::seconds timeout{3600};             // per dpkg run
    std::filesystem::path log;                      // the target's dpkg output is appended here
    std::function<void(std::string_view)> progress; // one line per phase; may be empty
    // Called as each phase ends ("extract", "stage-debs", "dpkg-essential", "dpkg-rest"),
    // so the caller can time it; may be empty.
    std::function<void(std::string_view)> phase_done;
};

// The environment maintainer scripts run with: nothing from the caller's.
std::vector<std::string> chroot_environment(std::int64_t source_date_epoch);

// The mounts they see (only inside their namespace).
std::vector<ChrootMount> chroot_mounts();

// Orders packages so each comes after what it Depends or Pre-Depends on where possible (a
// stable topological order, ties by name; cycles are broken at the first name). `depends`
// maps a package to the names it needs (virtual names already resolved).
std::vector<std::string>
install_order(const std::map<std::string, std::vector<std::string>>& depends);

// Installs `packages` into the empty directory `root` the way mmdebstrap does: merged-/usr
// links, the Essential packages' files extracted safely on the host, an empty dpkg database
// and a policy-rc.d that refuses every service start; then, through `runner` (the target's
// own dpkg in a chroot, under qemu-user for a foreign architecture), `dpkg --install
// --force-depends` of the Essential set (so their preinsts run) with start-stop-daemon
// replaced by a no-op afterwards, then of all the other packages in dependency order.
// The target's dpkg reads every package decompressed on the host (write_plain_deb, on every
// core; the rest's while the Essential set installs), so no xz or zstd runs under emulation.
// While the rest installs, update-initramfs is diverted to a no-op (dpkg-divert --local
// --rename): the kernel's postinst and initramfs-tools' trigger make nothing, and
// regenerate_initramfs makes the image's one initramfs after the overlays.
// Afterwards policy-rc.d, the fake start-stop-daemon, the diversion and the copied .debs are
// removed, and every package must be "install ok installed" in /var/lib/dpkg/status.
util::Status install_packages(const std::filesystem::path& root,
                              const std::vector<PackageFile>& packages,
                              const ConfigureOptions& options, ChrootRunner& runner);

// The versions of the kernels in the root's /boot (vmlinuz-VERSION), sorted.
std::vector<std::string> installed_kernels(const std::filesystem::path& root);

// Makes the initramfs of every installed kernel (`update-initramfs -c -k VERSION`, or `-u`
// where one was made before, by the target's own initramfs-tools in the chroot,
// SOURCE_DATE_EPOCH set so the cpio is reproducible), so that the hooks, scripts and
// configuration the overlays laid down after dpkg (the NFS-root overlay script, its modules)
// are inside it. Returns false, running nothing, when the root has no initramfs-tools or no
// kernel under boot/.
util::Result<bool> regenerate_initramfs(const std::filesystem::path& root,
                                        const ConfigureOptions& options, ChrootRunner& runner);

// The paths written during the build only (checked by tests to be gone afterwards).
inline constexpr std::string_view k_policy_rc_d = "usr/sbin/policy-rc.d";
inline constexpr std::string_view k_start_stop_daemon = "usr/sbin/start-stop-daemon";
inline constexpr std::string_view k_deb_dir = "var/cache/uhs-debs";
inline constexpr std::string_view k_update_initramfs = "usr/sbin/update-initramfs";
inline constexpr std::string_view k_held_update_initramfs = "usr/sbin/update-initramfs.uhs-held";

} // namespace uhs::rootfs
