// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace uhs::rootfs {

// What the child sees mounted below the root, only inside its own mount namespace.
enum class ChrootMount {
    proc, // /proc (a fresh procfs of the child's PID namespace)
    sys,  // /sys, read-only
    dev,  // /dev: a tmpfs with null, zero, full, random, urandom, tty, fd, pts, shm
    // /tmp and /var/tmp: empty tmpfs (1777), so what the command leaves there, and the times
    // its scratch files give those directories, stay out of the root.
    tmp,
};

struct ChrootCommand {
    std::filesystem::path root;
    std::vector<std::string> argv; // argv[0] absolute inside the root ("/usr/bin/dpkg")
    std::vector<std::string> env;  // the whole environment ("NAME=value"); nothing is inherited
    std::vector<ChrootMount> mounts;
    std::chrono::seconds timeout{1800};
    std::filesystem::path log; // stdout and stderr are appended here
};

struct ChrootResult {
    int exit_code = 0;    // 128 + signal when killed; 124 after the timeout
    std::string log_tail; // the end of the log, for error messages
};

// The seam for running the target's programs in its root: tests substitute a fake.
class ChrootRunner {
public:
    virtual ~ChrootRunner() = default;
    // Fails only when the child cannot be started; a non-zero exit is a normal result.
    virtual util::Result<ChrootResult> run(const ChrootCommand& command) = 0;
};

// The real runner (root only): the child gets new mount, PID, UTS and IPC namespaces, makes /
// recursively private, mounts what was asked below the root and, as the namespace's PID 1
// (outside the chroot, so ischroot(1) inside answers yes), forks the command, which chroots
// and execs with exactly the given environment. Nothing it mounts or starts is visible to the host,
// and when it exits (or is killed at the timeout) every process it started dies with its PID
// namespace.
class NamespaceChrootRunner final : public ChrootRunner {
public:
    util::Result<ChrootResult> run(const ChrootCommand& command) override;
};

} // namespace uhs::rootfs
