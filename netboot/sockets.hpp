// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/fd.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

// The daemon's listening sockets, each opened non-blocking and close-on-exec, bound before
// privileges are dropped.
namespace uhs::netboot {

// A UDP socket on 0.0.0.0:`port` that may broadcast; bound to `interface` when one is given.
util::Result<util::UniqueFd> open_dhcp_socket(const std::optional<std::string>& interface,
                                              std::uint16_t port);

// A listening TCP socket on `address`:`port` (IPv4).
util::Result<util::UniqueFd> open_http_socket(const std::string& address, std::uint16_t port);

// The syslog socket in.tftpd's transfer processes write to after their chroot:
// <root>/dev/log. Owning it is how the daemon sees which files each node asked for. It must be
// writable by the user in.tftpd drops to, which the daemon (no longer root) cannot chown it to,
// so it is 0666 and every datagram carries its sender's credentials (SO_PASSCRED): the
// daemon believes only the users in.tftpd runs as (receive_log_datagram).
util::Result<util::UniqueFd> open_tftpd_log_socket(const std::filesystem::path& root);

struct LogDatagram {
    std::string text;
    pid_t pid = 0;
    uid_t uid = 0; // from the kernel (SCM_CREDENTIALS), not from the text
};

// The next datagram on a socket from open_tftpd_log_socket; nullopt when none is waiting.
util::Result<std::optional<LogDatagram>> receive_log_datagram(int fd);

} // namespace uhs::netboot
