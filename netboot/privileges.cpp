// SPDX-License-Identifier: Apache-2.0
#include "netboot/privileges.hpp"

#include "builder/util/fs.hpp"

#include <array>
#include <cerrno>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace uhs::netboot {

namespace {

constexpr std::array<int, 2> k_kept_caps{CAP_NET_BIND_SERVICE, CAP_NET_RAW};

// Hands `dir_fd`'s entries to uid:gid without ever following a symlink: every step is
// relative to a directory opened with O_NOFOLLOW, so an entry swapped for a symlink meanwhile
// (the state directory belongs to the unprivileged user) cannot lead root anywhere else.
util::Status chown_below(int dir_fd, const std::string& shown, uid_t uid, gid_t gid, int depth) {
    if (depth > 64) {
        return util::fail(util::Errc::invalid_input, shown, ": too deep");
    }
    const int walk_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (walk_fd < 0) {
        return util::fail(util::Errc::io, "cannot open ", shown, ": ", util::errno_text(errno));
    }
    DIR* d = ::fdopendir(walk_fd);
    if (d == nullptr) {
        ::close(walk_fd);
        return util::fail(util::Errc::io, "cannot read ", shown, ": ", util::errno_text(errno));
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    ::closedir(d);
    for (const std::string& name : names) {
        const std::string path = shown + "/" + name;
        if (::fchownat(dir_fd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
            errno != ENOENT) {
            return util::fail(util::Errc::io, "cannot chown ", path, ": ", util::errno_text(errno));
        }
        const int child =
            ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
            continue; // not a directory (or a symlink, or gone): nothing below it
        }
        auto st = chown_below(child, path, uid, gid, depth + 1);
        ::close(child);
        UHS_CHECK(st);
    }
    return {};
}

util::Status chown_tree(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return util::fail(util::Errc::io, "cannot open ", dir.string(),
                          " (it must be a directory, not a symlink): ", util::errno_text(errno));
    }
    util::Status st = ::fchown(fd, uid, gid) == 0
                          ? chown_below(fd, dir.string(), uid, gid, 0)
                          : util::fail(util::Errc::io, "cannot chown ", dir.string(), ": ",
                                       util::errno_text(errno));
    ::close(fd);
    return st;
}

} // namespace

util::Status chown_tree_nofollow(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
    return chown_tree(dir, uid, gid);
}

util::Status drop_privileges(const std::string& user, const std::filesystem::path& state_dir) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return util::fail(util::Errc::invalid_input, "no such user '", user, "'");
    }
    UHS_CHECK(chown_tree(state_dir, pw.pw_uid, pw.pw_gid));
    // Keep the permitted set across setuid; then trim it to what we need.
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || ::setgroups(0, nullptr) != 0 ||
        ::setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
        ::setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
        return util::fail(util::Errc::refused, "cannot become ", user, ": ",
                          util::errno_text(errno));
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int cap : k_kept_caps) {
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
    }
    // Nothing inheritable, nothing ambient: what the daemon execs gets no capability.
    if (::syscall(SYS_capset, &header, data) != 0 ||
        ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
        return util::fail(util::Errc::refused, "capset: ", util::errno_text(errno));
    }
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    return {};
}

} // namespace uhs::netboot
