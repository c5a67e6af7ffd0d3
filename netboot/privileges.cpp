// SPDX-License-Identifier: Apache-2.0
#include "netboot/privileges.hpp"

#include "builder/util/fs.hpp"

#include <array>
#include <cerrno>
#include <vector>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace uhs::netboot {

namespace {

constexpr std::array<int, 2> k_kept_caps{CAP_NET_BIND_SERVICE, CAP_NET_RAW};

util::Status chown_tree(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
    if (::lchown(dir.c_str(), uid, gid) != 0) {
        return util::fail(util::Errc::io, "cannot chown ", dir.string(), ": ",
                          util::errno_text(errno));
    }
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (::lchown(it->path().c_str(), uid, gid) != 0) {
            return util::fail(util::Errc::io, "cannot chown ", it->path().string(), ": ",
                              util::errno_text(errno));
        }
    }
    if (ec) {
        return util::fail(util::Errc::io, "cannot walk ", dir.string(), ": ", ec.message());
    }
    return {};
}

} // namespace

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
