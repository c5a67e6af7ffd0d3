// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uhs::util {

struct Command {
    std::vector<std::string> argv; // argv[0] is looked up in PATH
    std::optional<std::filesystem::path> cwd;
    std::vector<std::string> extra_env; // "NAME=value" entries added to the environment
    std::string stdin_data;             // written to the child's standard input
    // When set, the child is killed (SIGKILL) once it has run this long; run() then fails with
    // Errc::timeout.
    std::optional<std::chrono::milliseconds> timeout;
};

struct CommandOutput {
    int exit_code = 0; // 128 + signal number when the child was killed by a signal
    std::string out;
    std::string err;
};

// The seam for every subprocess: tests substitute a fake that records calls.
class CommandRunner {
public:
    virtual ~CommandRunner() = default;
    // Runs `command` to completion. Fails when it cannot be started (Errc::not_found when the
    // program does not exist) or outlives `command.timeout` (Errc::timeout); a non-zero exit is
    // a normal CommandOutput.
    virtual Result<CommandOutput> run(const Command& command) = 0;
};

// Runs real processes (posix_spawnp, pipes for stdin/stdout/stderr).
class PosixCommandRunner final : public CommandRunner {
public:
    Result<CommandOutput> run(const Command& command) override;
};

// The process-wide real runner.
CommandRunner& default_command_runner();

// Finds `program` in PATH (or returns it when it contains a '/' and is executable).
std::optional<std::filesystem::path> find_program(const std::string& program);

} // namespace uhs::util
