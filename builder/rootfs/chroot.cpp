// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/chroot.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace uhs::rootfs {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

// Everything the child needs, prepared before it exists: between clone and exec it may only
// make system calls (the parent may have other threads holding locks).
struct ChildPlan {
    std::string root;
    std::vector<std::string> dirs; // created (0755) below the root before mounting
    struct Step {
        const char* source;
        std::string target;
        const char* type;
        unsigned long flags;
        const char* data;
    };
    std::vector<Step> mounts;
    struct Node {
        std::string path;
        mode_t mode;
        dev_t dev;
    };
    std::vector<Node> nodes;
    std::vector<std::pair<std::string, std::string>> links; // target, path
    std::vector<char*> argv;
    std::vector<char*> envp;
    int log_fd = -1;
    int null_fd = -1;
    int error_fd = -1;
    // The read end of a pipe only the parent writes to: when the parent is gone, it reads as
    // hung up.
    int parent_alive_fd = -1;
    int parent_alive_write_fd = -1; // the child's copy of the write end, closed first thing
};

[[noreturn]] void child_fail(const ChildPlan& plan, const char* step) {
    const int err = errno;
    char message[256];
    // strerrordesc_np: a constant string, no locale and no lock (unlike strerror).
    const char* description = ::strerrordesc_np(err);
    const int n = std::snprintf(message, sizeof message, "%s: %s", step,
                                description ? description : "unknown error");
    if (n > 0) {
        [[maybe_unused]] ssize_t ignored = ::write(plan.error_fd, message, static_cast<size_t>(n));
    }
    ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& plan) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // A parent that died before the line above sends no signal: then its end of the pipe is
    // closed already, and nothing may run unsupervised.
    ::close(plan.parent_alive_write_fd);
    pollfd parent{plan.parent_alive_fd, POLLIN, 0};
    if (::poll(&parent, 1, 0) != 0) {
        ::_exit(127);
    }
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        // EINVAL: "/" is not a mount point (a plain chroot); bind its root onto itself first.
        child_fail(plan,
                   errno == EINVAL ? "make / private (is / a mount point?)" : "make / private");
    }
    for (const std::string& dir : plan.dirs) {
        ::mkdir(dir.c_str(), 0755);
    }
    for (const auto& m : plan.mounts) {
        ::mkdir(m.target.c_str(), 0755);
        if (::mount(m.source, m.target.c_str(), m.type, m.flags, m.data) != 0) {
            child_fail(plan, m.target.c_str());
        }
    }
    for (const auto& node : plan.nodes) {
        if (::mknod(node.path.c_str(), node.mode, node.dev) != 0 ||
            ::chmod(node.path.c_str(), node.mode & 07777) != 0) {
            child_fail(plan, node.path.c_str());
        }
    }
    for (const auto& [target, path] : plan.links) {
        if (::symlink(target.c_str(), path.c_str()) != 0) {
            child_fail(plan, path.c_str());
        }
    }
    static const char k_hostname[] = "uhs-build";
    ::sethostname(k_hostname, sizeof k_hostname - 1);
    // This process is PID 1 of the namespace and stays outside the chroot, so ischroot(1) in
    // maintainer scripts sees /proc/1/root differ from / (raspi-firmware's hook relies on it).
    // A raw clone, not fork(3): glibc's fork takes its malloc and stdio locks when the process
    // looks multi-threaded, and one the parent's other threads held at clone time (the build
    // stages packages while dpkg runs) would never be released here.
    const auto inner =
        static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (inner < 0) {
        child_fail(plan, "fork");
    }
    if (inner > 0) {
        ::close(plan.error_fd);
        for (;;) {
            int status = 0;
            const pid_t done = ::waitpid(-1, &status, 0); // reaps orphans too
            if (done == inner) {
                ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            }
            if (done < 0 && errno != EINTR) {
                ::_exit(127);
            }
        }
    }
    if (::chroot(plan.root.c_str()) != 0 || ::chdir("/") != 0) {
        child_fail(plan, "chroot");
    }
    if (::dup2(plan.null_fd, 0) < 0 || ::dup2(plan.log_fd, 1) < 0 || ::dup2(plan.log_fd, 2) < 0) {
        child_fail(plan, "redirect output");
    }
    ::umask(022);
    ::execve(plan.argv[0], plan.argv.data(), plan.envp.data());
    child_fail(plan, plan.argv[0]);
}

std::string tail_of(const fs::path& log, std::size_t bytes) {
    auto text = util::read_file(log);
    if (!text) {
        return {};
    }
    return text->size() > bytes ? text->substr(text->size() - bytes) : *text;
}

} // namespace

util::Result<ChrootResult> NamespaceChrootRunner::run(const ChrootCommand& command) {
    if (command.argv.empty() || !command.argv[0].starts_with('/')) {
        return fail(Errc::invalid_input, "chroot command needs an absolute program path");
    }
    if (::geteuid() != 0) {
        return fail(Errc::refused,
                    "running the target's maintainer scripts needs root (mount namespaces and "
                    "chroot); run uhs-image build as root");
    }
    ChildPlan plan;
    plan.root = fs::absolute(command.root).string();
    const std::string& r = plan.root;
    for (ChrootMount m : command.mounts) {
        switch (m) {
        case ChrootMount::proc:
            plan.mounts.push_back(
                {"proc", r + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr});
            break;
        case ChrootMount::sys:
            plan.mounts.push_back({"sysfs", r + "/sys", "sysfs",
                                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr});
            break;
        case ChrootMount::tmp:
            for (const char* dir : {"/tmp", "/var/tmp"}) {
                plan.mounts.push_back(
                    {"tmpfs", r + dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"});
            }
            break;
        case ChrootMount::dev:
            plan.mounts.push_back(
                {"tmpfs", r + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755"});
            plan.mounts.push_back({"devpts", r + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                                   "newinstance,ptmxmode=0666,mode=0620"});
            plan.mounts.push_back(
                {"tmpfs", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"});
            for (auto [name, minor] :
                 {std::pair{"null", 3}, {"zero", 5}, {"full", 7}, {"random", 8}, {"urandom", 9}}) {
                plan.nodes.push_back(
                    {r + "/dev/" + name, S_IFCHR | 0666, makedev(1, static_cast<unsigned>(minor))});
            }
            plan.nodes.push_back({r + "/dev/tty", S_IFCHR | 0666, makedev(5, 0)});
            plan.links.push_back({"/proc/self/fd", r + "/dev/fd"});
            plan.links.push_back({"/proc/self/fd/0", r + "/dev/stdin"});
            plan.links.push_back({"/proc/self/fd/1", r + "/dev/stdout"});
            plan.links.push_back({"/proc/self/fd/2", r + "/dev/stderr"});
            plan.links.push_back({"pts/ptmx", r + "/dev/ptmx"});
            break;
        }
    }
    std::vector<std::string> argv = command.argv;
    std::vector<std::string> env = command.env;
    for (std::string& a : argv) {
        plan.argv.push_back(a.data());
    }
    plan.argv.push_back(nullptr);
    for (std::string& e : env) {
        plan.envp.push_back(e.data());
    }
    plan.envp.push_back(nullptr);

    util::UniqueFd log(
        ::open(command.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log) {
        return fail(Errc::io, "cannot open ", command.log.string(), ": ", util::errno_text(errno));
    }
    util::UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    int error_pipe[2];
    if (!null_fd || ::pipe2(error_pipe, O_CLOEXEC) != 0) {
        return fail(Errc::io, "cannot prepare the chroot child: ", util::errno_text(errno));
    }
    util::UniqueFd error_read(error_pipe[0]);
    util::UniqueFd error_write(error_pipe[1]);
    int alive_pipe[2];
    if (::pipe2(alive_pipe, O_CLOEXEC) != 0) {
        return fail(Errc::io, "cannot prepare the chroot child: ", util::errno_text(errno));
    }
    util::UniqueFd alive_read(alive_pipe[0]);
    const util::UniqueFd alive_write(alive_pipe[1]); // held until this function returns
    plan.parent_alive_fd = alive_read.get();
    plan.parent_alive_write_fd = alive_write.get();
    plan.log_fd = log.get();
    plan.null_fd = null_fd.get();
    plan.error_fd = error_write.get();

    // clone(2) as fork with new namespaces: the child is PID 1 of its own PID namespace, so
    // killing it takes down everything the maintainer scripts started.
    const long pid =
        ::syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD,
                  nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) {
        return fail(Errc::io, "cannot start the chroot child (clone): ", util::errno_text(errno));
    }
    if (pid == 0) {
        run_child(plan);
    }
    error_write.reset();
    const auto deadline = std::chrono::steady_clock::now() + command.timeout;
    int status = 0;
    bool timed_out = false;
    for (;;) {
        const pid_t done = ::waitpid(static_cast<pid_t>(pid), &status, WNOHANG);
        if (done == pid) {
            break;
        }
        if (done < 0 && errno != EINTR) {
            return fail(Errc::io, "waitpid: ", util::errno_text(errno));
        }
        if (!timed_out && std::chrono::steady_clock::now() >= deadline) {
            ::kill(static_cast<pid_t>(pid), SIGKILL);
            timed_out = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    char message[256];
    const ssize_t n = ::read(error_read.get(), message, sizeof message);
    if (n > 0) {
        return fail(Errc::failed, "cannot start ", command.argv[0], " in ", plan.root, ": ",
                    std::string(message, static_cast<size_t>(n)));
    }
    ChrootResult result;
    result.exit_code = timed_out             ? 124
                       : WIFEXITED(status)   ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                             : 1;
    if (result.exit_code != 0) {
        result.log_tail = tail_of(command.log, 1500);
    }
    return result;
}

} // namespace uhs::rootfs
