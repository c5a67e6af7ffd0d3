// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>

namespace uhs::netboot {

// Drops the daemon from root to `user` once its sockets are bound, keeping only the
// capabilities the running service needs, also as ambient capabilities so the in.tftpd it
// (re)starts inherits them: NET_BIND_SERVICE (in.tftpd binds :69), NET_RAW (SO_BINDTODEVICE),
// SYS_CHROOT + SETUID + SETGID (in.tftpd --secure --user), KILL (stopping in.tftpd after it has
// become the tftp user). `state_dir` is handed to `user` first, since the daemon keeps
// writing it (publish on SIGHUP, switches). Fails when the user does not exist or a step is
// refused; the caller must then stop rather than run with more privilege than asked.
util::Status drop_privileges(const std::string& user, const std::filesystem::path& state_dir);

} // namespace uhs::netboot
