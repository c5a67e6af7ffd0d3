// SPDX-License-Identifier: Apache-2.0
#include "builder/util/subprocess.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace uhs::util {

std::optional<std::filesystem::path> find_program(const std::string& program) {
    if (program.find('/') != std::string::npos) {
        return ::access(program.c_str(), X_OK) == 0 ? std::optional(std::filesystem::path(program))
                                                    : std::nullopt;
    }
    const char* path = std::getenv("PATH");
    for (std::string_view dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':')) {
        if (dir.empty()) {
            continue;
        }
        std::filesystem::path candidate = std::filesystem::path(dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

namespace {

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return fail(Errc::io, "cannot create a pipe: ", errno_text(errno));
    }
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn file actions, freed on scope exit.
struct SpawnActions {
    posix_spawn_file_actions_t actions;
    SpawnActions() { posix_spawn_file_actions_init(&actions); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

} // namespace

Result<CommandOutput> PosixCommandRunner::run(const Command& command) {
    if (command.argv.empty()) {
        return fail(Errc::invalid_input, "empty command");
    }
    const auto program = find_program(command.argv[0]);
    if (!program) {
        return fail(Errc::not_found, command.argv[0], ": command not found");
    }
    Pipe in = UHS_TRY(make_pipe());
    Pipe out = UHS_TRY(make_pipe());
    Pipe err = UHS_TRY(make_pipe());

    SpawnActions spawn;
    posix_spawn_file_actions_adddup2(&spawn.actions, in.read.get(), 0);
    posix_spawn_file_actions_adddup2(&spawn.actions, out.write.get(), 1);
    posix_spawn_file_actions_adddup2(&spawn.actions, err.write.get(), 2);
    if (command.cwd) {
        posix_spawn_file_actions_addchdir_np(&spawn.actions, command.cwd->c_str());
    }

    std::vector<char*> argv;
    for (const std::string& arg : command.argv) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    // extra_env replaces inherited entries of the same name: the first match is the one a
    // child's getenv() sees (TZ=UTC for mtools must win over the caller's TZ).
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const std::string_view name = entry.substr(0, entry.find('=') + 1);
        const bool overridden =
            std::any_of(command.extra_env.begin(), command.extra_env.end(),
                        [&](const std::string& extra) { return extra.starts_with(name); });
        if (!overridden) {
            envp.push_back(*e);
        }
    }
    for (const std::string& entry : command.extra_env) {
        envp.push_back(const_cast<char*>(entry.c_str()));
    }
    envp.push_back(nullptr);

    pid_t pid = 0;
    const int spawn_error =
        ::posix_spawn(&pid, program->c_str(), &spawn.actions, nullptr, argv.data(), envp.data());
    if (spawn_error != 0) {
        return fail(Errc::failed, "cannot start ", command.argv[0], ": ", errno_text(spawn_error));
    }
    in.read.reset();
    out.write.reset();
    err.write.reset();

    // Feed stdin and drain stdout/stderr together so neither side can block the other.
    CommandOutput result;
    std::string_view pending_in = command.stdin_data;
    if (pending_in.empty()) {
        in.write.reset();
    }
    ::signal(SIGPIPE, SIG_IGN);
    const auto deadline = command.timeout
                              ? std::optional(std::chrono::steady_clock::now() + *command.timeout)
                              : std::nullopt;
    bool timed_out = false;
    while (out.read || err.read || in.write) {
        pollfd fds[3];
        nfds_t count = 0;
        auto add = [&](UniqueFd& fd, short events) {
            if (fd) {
                fds[count++] = pollfd{fd.get(), events, 0};
            }
        };
        add(out.read, POLLIN);
        add(err.read, POLLIN);
        add(in.write, POLLOUT);
        int wait_ms = -1;
        if (deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                *deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                timed_out = true;
                break;
            }
            wait_ms = static_cast<int>(std::min<long long>(left.count() + 1, 60'000));
        }
        if (::poll(fds, count, wait_ms) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == in.write.get()) {
                const ssize_t n = ::write(in.write.get(), pending_in.data(), pending_in.size());
                if (n <= 0) {
                    in.write.reset();
                } else {
                    pending_in.remove_prefix(static_cast<size_t>(n));
                    if (pending_in.empty()) {
                        in.write.reset();
                    }
                }
                continue;
            }
            UniqueFd& source = fds[i].fd == out.read.get() ? out.read : err.read;
            std::string& sink = fds[i].fd == out.read.get() ? result.out : result.err;
            char buffer[65536];
            const ssize_t n = ::read(source.get(), buffer, sizeof buffer);
            if (n > 0) {
                sink.append(buffer, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                source.reset();
            }
        }
    }

    // A child that closed its pipes can still hang: the deadline covers the wait too.
    while (deadline && !timed_out) {
        int status = 0;
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return result;
        }
        if (done < 0 && errno != EINTR) {
            return fail(Errc::failed, "cannot wait for ", command.argv[0], ": ", errno_text(errno));
        }
        if (std::chrono::steady_clock::now() >= *deadline) {
            timed_out = true;
            break;
        }
        ::usleep(10'000);
    }
    if (timed_out) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return fail(Errc::failed, "cannot wait for ", command.argv[0], ": ", errno_text(errno));
        }
    }
    if (timed_out) {
        return fail(Errc::timeout, command.argv[0], ": killed after ",
                    std::to_string(command.timeout->count()), " ms without finishing");
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

CommandRunner& default_command_runner() {
    static PosixCommandRunner runner;
    return runner;
}

} // namespace uhs::util
