// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/supervisor.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace uhs::netboot::tftp {

util::Result<pid_t> PosixProcessLauncher::spawn(const std::vector<std::string>& argv) {
    if (argv.empty()) {
        return util::fail(util::Errc::invalid_input, "empty command line");
    }
    std::vector<char*> args;
    for (const std::string& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    // An exec failure is reported through a close-on-exec pipe: EOF means exec succeeded.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return util::fail(util::Errc::io, "pipe: ", util::errno_text(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return util::fail(util::Errc::io, "fork: ", util::errno_text(err));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(args[0], args.data());
        const int err = errno;
        (void)!::write(fds[1], &err, sizeof err);
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(fds[1]);
    int err = 0;
    const ssize_t n = ::read(fds[0], &err, sizeof err);
    ::close(fds[0]);
    if (n == static_cast<ssize_t>(sizeof err)) {
        ::waitpid(pid, nullptr, 0);
        return util::fail(util::Errc::not_found, "cannot run ", argv[0], ": ",
                          util::errno_text(err));
    }
    return pid;
}

void PosixProcessLauncher::kill_group(pid_t pid, int signal) {
    if (pid > 0) {
        ::kill(-pid, signal);
    }
}

std::optional<int> PosixProcessLauncher::try_reap(pid_t pid) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
        return status;
    }
    if (r < 0 && errno == ECHILD) {
        return 0;
    }
    return std::nullopt;
}

std::vector<std::string> tftpd_argv(const TftpdOptions& o) {
    // Verbosity 2: in.tftpd logs each RRQ (1) and each NAK it sends (2), which the daemon
    // reports as tftp-nak and counts the transfer as not found.
    std::vector<std::string> argv{o.program.string(),
                                  "--foreground",
                                  "--secure",
                                  "--verbosity",
                                  "2",
                                  "--address",
                                  o.address + ":" + std::to_string(o.port),
                                  "--blocksize",
                                  std::to_string(o.blocksize),
                                  "--map-file",
                                  o.remap.string()};
    if (!o.user.empty()) {
        argv.push_back("--user");
        argv.push_back(o.user);
    }
    argv.push_back(o.root.string());
    return argv;
}

util::Status Supervisor::start(Clock::time_point now) {
    m_stopped = false;
    if (m_pid > 0) {
        return {};
    }
    auto pid = m_launcher.spawn(m_argv);
    if (!pid) {
        m_next_start = now + m_backoff;
        m_backoff = std::min(m_backoff * 2, k_max_backoff);
        return std::unexpected(pid.error());
    }
    m_pid = *pid;
    m_started = now;
    m_next_start.reset();
    return {};
}

void Supervisor::tick(Clock::time_point now) {
    if (m_stopped) {
        return;
    }
    if (m_pid > 0) {
        if (auto status = m_launcher.try_reap(m_pid)) {
            m_last_status = status;
            m_pid = -1;
            // A child that ran long enough was healthy: start over with the short delay.
            if (now - m_started >= k_stable_after) {
                m_backoff = k_min_backoff;
            }
            m_next_start = now + m_backoff;
            m_backoff = std::min(m_backoff * 2, k_max_backoff);
            ++m_restarts;
        }
        return;
    }
    if (m_next_start && now >= *m_next_start) {
        (void)start(now);
    }
}

void Supervisor::stop(std::chrono::milliseconds grace) {
    m_stopped = true;
    m_next_start.reset();
    if (m_pid <= 0) {
        return;
    }
    const pid_t group = m_pid;
    m_launcher.kill_group(m_pid, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (Clock::now() < deadline) {
        if (auto status = m_launcher.try_reap(m_pid)) {
            m_last_status = status;
            m_pid = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (m_pid > 0) {
        m_launcher.kill_group(m_pid, SIGKILL);
        for (int i = 0; i < 200 && m_pid > 0; ++i) {
            if (auto status = m_launcher.try_reap(m_pid)) {
                m_last_status = status;
                m_pid = -1;
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
    }
    // Transfer children left in the group (forked per request) get the same treatment.
    m_launcher.kill_group(group, SIGKILL);
}

util::Status probe_tftp(const std::string& address, std::uint16_t port, const std::string& file,
                        std::chrono::milliseconds timeout) {
    util::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) {
        return util::fail(util::Errc::io, "socket: ", util::errno_text(errno));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    if (::inet_pton(AF_INET, address == "0.0.0.0" ? "127.0.0.1" : address.c_str(), &to.sin_addr) !=
        1) {
        return util::fail(util::Errc::invalid_input, "bad address ", address);
    }
    std::string rrq("\0\1", 2);
    rrq += file;
    rrq.push_back('\0');
    rrq += "octet";
    rrq.push_back('\0');
    if (::sendto(sock.get(), rrq.data(), rrq.size(), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) < 0) {
        return util::fail(util::Errc::io, "sendto: ", util::errno_text(errno));
    }
    pollfd p{sock.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) {
        return util::fail(util::Errc::timeout, "no TFTP answer from ", address, ":",
                          std::to_string(port), " within ", std::to_string(timeout.count()), " ms");
    }
    unsigned char buf[1600];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        ::recvfrom(sock.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 4) {
        return util::fail(util::Errc::refused, "TFTP probe: ",
                          n < 0 ? util::errno_text(errno) : std::string("short reply"));
    }
    if (buf[1] == 5) {
        return util::fail(util::Errc::refused, "TFTP probe of ", file, ": server error ",
                          std::string(reinterpret_cast<char*>(buf + 4),
                                      ::strnlen(reinterpret_cast<char*>(buf + 4),
                                                static_cast<std::size_t>(n) - 4)));
    }
    // Tell the transfer process we are done, as the bootloader's probes do.
    const char abort_msg[] = "\0\5\0\0Early terminate";
    ::sendto(sock.get(), abort_msg, sizeof abort_msg, 0, reinterpret_cast<sockaddr*>(&from),
             from_len);
    if (buf[1] != 3) {
        return util::fail(util::Errc::refused, "TFTP probe: unexpected opcode ",
                          std::to_string(buf[1]));
    }
    return {};
}

} // namespace uhs::netboot::tftp
