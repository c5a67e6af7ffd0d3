// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/safe_path.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::rootfs {

using util::Errc;
using util::fail;
using util::UniqueFd;

util::Result<std::vector<std::string>> safe_components(std::string_view name,
                                                       const std::string& where) {
    if (name.starts_with('/')) {
        return fail(Errc::invalid_input, where, ": absolute path '", std::string(name),
                    "' refused");
    }
    std::vector<std::string> parts;
    for (std::string_view part : util::split(name, '/')) {
        if (part.empty() || part == ".") {
            continue;
        }
        if (part == "..") {
            return fail(Errc::invalid_input, where, ": path '", std::string(name),
                        "' escapes the root ('..') and is refused");
        }
        parts.emplace_back(part);
    }
    return parts;
}

util::Result<UniqueFd> open_parent_beneath(int root_fd, const std::vector<std::string>& parts,
                                           CreateParents create, const std::string& where) {
    UniqueFd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!dir) {
        return fail(Errc::io, where,
                    ": cannot duplicate the root descriptor: ", util::errno_text(errno));
    }
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const char* name = parts[i].c_str();
        constexpr int k_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd = ::openat(dir.get(), name, k_flags);
        if (fd < 0 && errno == ENOENT && create == CreateParents::yes) {
            if (::mkdirat(dir.get(), name, 0755) != 0 && errno != EEXIST) {
                return fail(Errc::io, where, ": cannot create directory '", parts[i],
                            "': ", util::errno_text(errno));
            }
            fd = ::openat(dir.get(), name, k_flags);
        }
        if (fd < 0) {
            if (errno == ENOTDIR || errno == ELOOP) {
                return fail(Errc::invalid_input, where, ": '", parts[i],
                            "' is a symlink or not a directory; writing through it is refused");
            }
            return fail(Errc::io, where, ": cannot open '", parts[i],
                        "': ", util::errno_text(errno));
        }
        dir.reset(fd);
    }
    return dir;
}

} // namespace uhs::rootfs
