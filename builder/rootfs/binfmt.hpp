// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>

namespace uhs::rootfs {

// A usable binfmt_misc registration for running the target's binaries in a chroot.
struct Binfmt {
    std::string name;        // "qemu-aarch64"
    std::string interpreter; // "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
    std::string flags;       // "PF"
};

// Checks that the kernel runs aarch64 ELF binaries through qemu-user, with the F (fix binary)
// flag so the interpreter need not exist inside the chroot. `binfmt_dir` is normally
// /proc/sys/fs/binfmt_misc (a seam for tests). On failure, the error says exactly what to
// install or mount (Errc::not_found).
util::Result<Binfmt> check_aarch64_binfmt(const std::filesystem::path& binfmt_dir);

} // namespace uhs::rootfs
