// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/helper_launcher.hpp"

#include "builder/util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace uhs::netboot::tftp {

namespace {

// One request: an op ('S' spawn, 'K' kill group, 'R' reap) and its argument (the signal).
struct Request {
    char op = 0;
    int arg = 0;
};

constexpr std::chrono::milliseconds k_reply_timeout{2000};

// Limits this process (uid 0) to `keep`: bounding set, permitted and effective. Inheritable
// and ambient stay empty, so an exec'd root program gets exactly the bounding set.
bool restrict_capabilities(std::span<const int> keep) {
    if (::geteuid() != 0) {
        // Not root (tests, a developer's run): in.tftpd cannot drop privileges anyway; make
        // sure it inherits no capability at all.
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct none[2]{};
        return ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 &&
               ::syscall(SYS_capset, &header, none) == 0;
    }
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        bool kept = false;
        for (int k : keep) {
            kept = kept || k == cap;
        }
        // Only what is still in the bounding set needs dropping (CAP_SETPCAP): under systemd's
        // CapabilityBoundingSet most of it is gone already.
        if (!kept && ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
            ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            return false;
        }
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int cap : keep) {
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
    }
    return ::syscall(SYS_capset, &header, data) == 0 &&
           ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0;
}

// The helper's whole life: answer requests until the channel closes.
[[noreturn]] void helper_main(int channel, const std::vector<std::string>& argv) {
    PosixProcessLauncher launcher;
    pid_t child = -1;
    pid_t group = -1;
    for (;;) {
        Request req;
        const ssize_t n = ::recv(channel, &req, sizeof req, 0);
        if (n == 0 || (n < 0 && errno != EINTR)) {
            break; // the daemon is gone
        }
        if (n != static_cast<ssize_t>(sizeof req)) {
            continue;
        }
        HelperReply reply{};
        if (req.op == 'S') {
            if (child > 0) {
                reply.ok = 0;
                std::snprintf(reply.message, sizeof reply.message, "already running (pid %d)",
                              static_cast<int>(child));
            } else if (auto pid = launcher.spawn(argv)) {
                child = group = *pid;
                reply.ok = 1;
                reply.value = *pid;
            } else {
                std::snprintf(reply.message, sizeof reply.message, "%s",
                              pid.error().message.c_str());
            }
        } else if (req.op == 'K') {
            if (group > 0 && req.arg > 0 && req.arg < 65) {
                launcher.kill_group(group, req.arg);
            }
            reply.ok = 1;
        } else if (req.op == 'R') {
            reply.ok = 1;
            if (child > 0) {
                if (auto status = launcher.try_reap(child)) {
                    reply.has_value = 1;
                    reply.value = *status;
                    child = -1;
                }
            } else {
                reply.has_value = 1; // nothing to reap: as waitpid's ECHILD
            }
        }
        (void)!::send(channel, &reply, sizeof reply, MSG_NOSIGNAL);
    }
    if (group > 0) {
        launcher.kill_group(group, SIGTERM);
        for (int i = 0; i < 100 && child > 0; ++i) {
            if (launcher.try_reap(child)) {
                child = -1;
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        launcher.kill_group(group, SIGKILL);
        if (child > 0) {
            ::waitpid(child, nullptr, 0);
        }
    }
    ::_exit(0);
}

} // namespace

util::Result<std::unique_ptr<HelperLauncher>>
HelperLauncher::start(std::vector<std::string> argv, std::span<const int> keep_caps) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return util::fail(util::Errc::io, "socketpair: ", util::errno_text(errno));
    }
    // The child learns whether its setup worked through this pipe before the parent goes on.
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) {
        ::close(sv[0]);
        ::close(sv[1]);
        return util::fail(util::Errc::io, "pipe: ", util::errno_text(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        for (int fd : {sv[0], sv[1], ready[0], ready[1]}) {
            ::close(fd);
        }
        return util::fail(util::Errc::io, "fork: ", util::errno_text(err));
    }
    if (pid == 0) {
        ::close(sv[0]);
        ::close(ready[0]);
        // Keep stdio, the channel and the ready pipe; nothing else of the daemon's.
        const int keep_channel = 100;
        const int keep_ready = 101;
        if (::dup3(sv[1], keep_channel, O_CLOEXEC) < 0 ||
            ::dup3(ready[1], keep_ready, O_CLOEXEC) < 0) {
            ::_exit(1);
        }
        ::close_range(3, 99, 0);
        ::close_range(102, ~0U, 0);
        // Ctrl-C or a SIGTERM to the daemon's group must not orphan in.tftpd: the helper ends
        // when the daemon does, through the channel. Blocked, not ignored: in.tftpd gets an
        // empty mask and default dispositions (PosixProcessLauncher resets the mask).
        sigset_t blocked;
        sigemptyset(&blocked);
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
            sigaddset(&blocked, s);
            ::signal(s, SIG_DFL);
        }
        ::sigprocmask(SIG_SETMASK, &blocked, nullptr);
        const char status = restrict_capabilities(keep_caps) ? 'y' : 'n';
        (void)!::write(keep_ready, &status, 1);
        ::close(keep_ready);
        if (status != 'y') {
            ::_exit(1);
        }
        helper_main(keep_channel, argv);
    }
    ::close(sv[1]);
    ::close(ready[1]);
    char status = 0;
    const ssize_t n = ::read(ready[0], &status, 1);
    ::close(ready[0]);
    util::UniqueFd channel(sv[0]);
    if (n != 1 || status != 'y') {
        ::waitpid(pid, nullptr, 0);
        return util::fail(util::Errc::refused,
                          "the in.tftpd helper could not limit its capabilities");
    }
    return std::unique_ptr<HelperLauncher>(
        new HelperLauncher(std::move(channel), pid, std::move(argv)));
}

HelperLauncher::~HelperLauncher() {
    m_channel.reset(); // the helper stops its child and exits
    for (int i = 0; i < 300; ++i) {
        if (::waitpid(m_helper, nullptr, WNOHANG) != 0) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(m_helper, SIGKILL);
    ::waitpid(m_helper, nullptr, 0);
}

util::Result<HelperReply> HelperLauncher::call(char op, int arg) {
    const Request req{op, arg};
    if (::send(m_channel.get(), &req, sizeof req, MSG_NOSIGNAL) !=
        static_cast<ssize_t>(sizeof req)) {
        return util::fail(util::Errc::io, "in.tftpd helper: ", util::errno_text(errno));
    }
    pollfd p{m_channel.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(k_reply_timeout.count())) <= 0) {
        return util::fail(util::Errc::timeout, "in.tftpd helper did not answer");
    }
    HelperReply reply{};
    if (::recv(m_channel.get(), &reply, sizeof reply, 0) != static_cast<ssize_t>(sizeof reply)) {
        return util::fail(util::Errc::io, "in.tftpd helper: bad reply");
    }
    reply.message[sizeof reply.message - 1] = 0;
    return reply;
}

util::Result<pid_t> HelperLauncher::spawn(const std::vector<std::string>& argv) {
    if (argv != m_argv) {
        return util::fail(util::Errc::refused,
                          "in.tftpd helper runs only the command line it was started with");
    }
    auto reply = UHS_TRY(call('S', 0));
    if (!reply.ok) {
        return util::fail(util::Errc::not_found, reply.message);
    }
    return static_cast<pid_t>(reply.value);
}

void HelperLauncher::kill_group(pid_t, int signal) {
    (void)call('K', signal);
}

std::optional<int> HelperLauncher::try_reap(pid_t) {
    auto reply = call('R', 0);
    if (!reply) {
        // A helper that no longer answers has lost its child too: report it gone.
        return 0;
    }
    if (reply->has_value) {
        return reply->value;
    }
    return std::nullopt;
}

} // namespace uhs::netboot::tftp
