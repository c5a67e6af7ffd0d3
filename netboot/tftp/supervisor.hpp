// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace uhs::netboot::tftp {

using Clock = std::chrono::steady_clock;

// The process seam: the supervisor's only way to start, signal and reap children.
class ProcessLauncher {
public:
    virtual ~ProcessLauncher() = default;
    // Starts `argv` (argv[0] is a path) in its own process group. Fails when it cannot start.
    virtual util::Result<pid_t> spawn(const std::vector<std::string>& argv) = 0;
    // Sends `signal` to the child's process group.
    virtual void kill_group(pid_t pid, int signal) = 0;
    // Reaps `pid` without blocking: its wait status once it has exited, else nullopt.
    virtual std::optional<int> try_reap(pid_t pid) = 0;
};

// fork/exec with setpgid; stdout/stderr inherited (in.tftpd logs to syslog anyway).
class PosixProcessLauncher final : public ProcessLauncher {
public:
    util::Result<pid_t> spawn(const std::vector<std::string>& argv) override;
    void kill_group(pid_t pid, int signal) override;
    std::optional<int> try_reap(pid_t pid) override;
};

// How in.tftpd is run.
struct TftpdOptions {
    std::filesystem::path program = "/usr/sbin/in.tftpd";
    std::filesystem::path root;      // served with -s (chroot)
    std::filesystem::path remap;     // -m rules file
    std::string address = "0.0.0.0"; // -a ADDRESS:PORT
    std::uint16_t port = 69;
    std::string user = "tftp"; // -u: in.tftpd drops to it after chroot (when run as root)
    unsigned blocksize = 1468; // -B: the cap; 1500 MTU − IP − UDP − TFTP headers
};

// The in.tftpd command line for `options`.
std::vector<std::string> tftpd_argv(const TftpdOptions& options);

// Keeps one child running: restarts it after an unexpected exit with exponential backoff
// (200 ms doubling to 10 s, reset once it has run 10 s), stops it cleanly (SIGTERM, then SIGKILL
// after a grace period). Time comes in through `now` arguments so tests drive it.
class Supervisor {
public:
    Supervisor(ProcessLauncher& launcher, std::vector<std::string> argv)
        : m_launcher(launcher), m_argv(std::move(argv)) {}
    // Stops the child: whatever ends the supervisor's life (an exception included) must not
    // leave in.tftpd running.
    ~Supervisor() { stop(); }
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Starts the child now. Fails when spawning fails (the supervisor then retries on tick()).
    util::Status start(Clock::time_point now);
    // Reaps an exited child and schedules the restart; starts it when its time has come.
    // Call on SIGCHLD and periodically.
    void tick(Clock::time_point now);
    // Stops the child: SIGTERM to its group, waits up to `grace`, then SIGKILL. Blocking.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
    // Replaces the command line used from the next (re)start.
    void set_argv(std::vector<std::string> argv) { m_argv = std::move(argv); }

    bool running() const { return m_pid > 0; }
    pid_t pid() const { return m_pid; }
    unsigned restarts() const { return m_restarts; }
    std::chrono::milliseconds current_backoff() const { return m_backoff; }
    std::optional<Clock::time_point> next_start() const { return m_next_start; }
    // The last exit's wait status (for logs).
    std::optional<int> last_status() const { return m_last_status; }

    static constexpr std::chrono::milliseconds k_min_backoff{200};
    static constexpr std::chrono::milliseconds k_max_backoff{10000};
    static constexpr std::chrono::milliseconds k_stable_after{10000};

private:
    ProcessLauncher& m_launcher;
    std::vector<std::string> m_argv;
    pid_t m_pid = -1;
    Clock::time_point m_started{};
    std::optional<Clock::time_point> m_next_start;
    std::chrono::milliseconds m_backoff = k_min_backoff;
    unsigned m_restarts = 0;
    std::optional<int> m_last_status;
    bool m_stopped = false;
};

// Probes a TFTP server: reads block 1 of `file` (octet, no options) from address:port, then
// aborts with ERROR 0 as the Pi does. Fails with Errc::timeout when nothing answers within
// `timeout`, Errc::refused on a TFTP ERROR reply.
util::Status probe_tftp(const std::string& address, std::uint16_t port, const std::string& file,
                        std::chrono::milliseconds timeout);

} // namespace uhs::netboot::tftp
