// SPDX-License-Identifier: Apache-2.0
#include "netboot/sockets.hpp"

#include "builder/util/fs.hpp"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace uhs::netboot {

namespace {

util::Result<sockaddr_in> make_address(const std::string& address, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) {
        return util::fail(util::Errc::invalid_input, "bad IPv4 address '", address, "'");
    }
    return a;
}

} // namespace

util::Result<util::UniqueFd> open_dhcp_socket(const std::optional<std::string>& interface,
                                              std::uint16_t port) {
    util::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return util::fail(util::Errc::io, "socket: ", util::errno_text(errno));
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    if (interface && !interface->empty()) {
        // Broadcast DISCOVERs reach an INADDR_ANY socket only; the device binding keeps us
        // on the boot LAN and sends our broadcasts out of it.
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, interface->c_str(),
                         static_cast<socklen_t>(interface->size())) != 0) {
            return util::fail(util::Errc::io, "cannot bind DHCP socket to ", *interface, ": ",
                              util::errno_text(errno));
        }
    }
    auto addr = UHS_TRY(make_address("0.0.0.0", port));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return util::fail(util::Errc::io, "cannot bind DHCP port ", std::to_string(port), ": ",
                          util::errno_text(errno));
    }
    return fd;
}

util::Result<util::UniqueFd> open_http_socket(const std::string& address, std::uint16_t port) {
    util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return util::fail(util::Errc::io, "socket: ", util::errno_text(errno));
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto addr = UHS_TRY(make_address(address, port));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd.get(), 16) != 0) {
        return util::fail(util::Errc::io, "cannot listen on ", address, ":", std::to_string(port),
                          ": ", util::errno_text(errno));
    }
    return fd;
}

util::Result<util::UniqueFd> open_tftpd_log_socket(const std::filesystem::path& root) {
    const std::filesystem::path dir = root / "dev";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0755);
    const std::filesystem::path path = dir / "log";
    std::filesystem::remove(path, ec);
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return util::fail(util::Errc::io, "socket: ", util::errno_text(errno));
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path) {
        return util::fail(util::Errc::invalid_input, path.string(), ": path too long for a socket");
    }
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        return util::fail(util::Errc::io, "cannot bind ", path.string(), ": ",
                          util::errno_text(errno));
    }
    // in.tftpd has dropped to its own user by the time it logs; who sent what is checked per
    // datagram instead (receive_log_datagram).
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0) {
        return util::fail(util::Errc::io, "SO_PASSCRED on ", path.string(), ": ",
                          util::errno_text(errno));
    }
    ::chmod(path.c_str(), 0666);
    return fd;
}

util::Result<std::optional<LogDatagram>> receive_log_datagram(int fd) {
    char text[2048];
    iovec iov{text, sizeof text};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return std::nullopt;
        }
        return util::fail(util::Errc::io, "tftpd log: ", util::errno_text(errno));
    }
    LogDatagram datagram;
    datagram.text.assign(text, static_cast<std::size_t>(n));
    bool credentials = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
            ucred cred{};
            std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
            datagram.pid = cred.pid;
            datagram.uid = cred.uid;
            credentials = true;
        }
    }
    if (!credentials) {
        // With SO_PASSCRED the kernel always attaches them; without, trust nothing.
        datagram.uid = static_cast<uid_t>(-1);
    }
    return datagram;
}

} // namespace uhs::netboot
