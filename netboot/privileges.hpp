// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>

#include <sys/types.h>

namespace uhs::netboot {

// Drops the daemon from root to `user` once its sockets are bound, keeping only
// NET_BIND_SERVICE and NET_RAW (SO_BINDTODEVICE), none of them inheritable or ambient: in.tftpd
// is started by a root helper forked before the drop (tftp::HelperLauncher), never by the
// daemon. `state_dir` is handed to `user` first, since the daemon keeps writing it (publish on
// SIGHUP, switches), through a walk that never follows a symlink. Fails when the user does not
// exist or a step is refused; the caller must then stop rather than run with more privilege
// than asked.
util::Status drop_privileges(const std::string& user, const std::filesystem::path& state_dir);

// The chown step of drop_privileges: `dir` itself (not a symlink) and everything below it, never
// following a symlink, also when an entry is swapped for one during the walk.
util::Status chown_tree_nofollow(const std::filesystem::path& dir, uid_t uid, gid_t gid);

} // namespace uhs::netboot
