// SPDX-License-Identifier: Apache-2.0
#include "netboot/sockets.hpp"
#include "tests/unit/test_support.hpp"

#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace uhs;

namespace {

// Sends `text` to the socket at `path` as `uid` (from a child that gives up root first).
void send_as(const std::filesystem::path& path, uid_t uid, const std::string& text) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (uid != ::geteuid() &&
            (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)) {
            ::_exit(2);
        }
        const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        const ssize_t n = ::sendto(fd, text.data(), text.size(), 0,
                                   reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        ::_exit(n == static_cast<ssize_t>(text.size()) ? 0 : 3);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

} // namespace

TEST_CASE("tftpd log socket: every datagram comes with its sender's uid from the kernel") {
    REQUIRE(::geteuid() == 0); // the unit tests run as root (README); the second sender is nobody
    test::TestDir dir;
    ::chmod(dir.path().c_str(), 0755); // as the served tree is: in.tftpd's user walks into it
    const auto fd = netboot::open_tftpd_log_socket(dir.path());
    REQUIRE(fd);
    const auto path = dir.path() / "dev/log";
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0666); // in.tftpd's user must reach it
    CHECK(netboot::receive_log_datagram(fd->get()) == std::nullopt);

    const std::string line = "<29>Dec  8 01:00:00 in.tftpd[42]: RRQ from 10.0.0.5 filename x";
    send_as(path, 0, line);
    send_as(path, 65534, line); // any local user can write to it...
    auto first = netboot::receive_log_datagram(fd->get());
    REQUIRE(first);
    REQUIRE(*first);
    CHECK((*first)->text == line);
    CHECK((*first)->uid == 0);
    CHECK((*first)->pid > 0);
    auto second = netboot::receive_log_datagram(fd->get());
    REQUIRE(second);
    REQUIRE(*second);
    CHECK((*second)->uid == 65534); // ...but cannot hide who it is
    CHECK(netboot::receive_log_datagram(fd->get()) == std::nullopt);
}
