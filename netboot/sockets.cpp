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
    // in.tftpd has dropped to its own user by the time it logs.
    ::chmod(path.c_str(), 0666);
    return fd;
}

} // namespace uhs::netboot
