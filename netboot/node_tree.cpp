// SPDX-License-Identifier: Apache-2.0
#include "netboot/node_tree.hpp"

#include "builder/util/fs.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace uhs::netboot {

namespace fs = std::filesystem;

util::Result<std::optional<StateLock>> StateLock::try_acquire(const fs::path& state_dir) {
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    const fs::path file = state_dir / "serve.lock";
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        return util::fail(util::Errc::io, "cannot open ", file.string(), ": ",
                          util::errno_text(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return std::optional<StateLock>();
    }
    return std::optional<StateLock>(StateLock(fd));
}

StateLock::~StateLock() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

std::vector<NodeDirectory> node_directories(const config::Cluster& cluster) {
    std::vector<NodeDirectory> dirs;
    for (const config::Node& node : cluster.nodes) {
        if (auto d = node.serial_directory()) {
            dirs.push_back({&node, *d});
        }
        if (auto d = node.mac_directory()) {
            dirs.push_back({&node, *d});
        }
    }
    return dirs;
}

util::Status publish_cluster(const config::Cluster& cluster, const tftp::Tree& tree,
                             const fs::path& images_dir, const std::optional<std::string>& image,
                             std::ostream& log) {
    UHS_CHECK(tree.prepare());
    auto listed = tftp::list_images(images_dir);
    if (!listed) {
        return std::unexpected(util::with_context(listed.error(), "--images"));
    }
    const auto& available = *listed;
    for (const NodeDirectory& nd : node_directories(cluster)) {
        // A published directory stays as it is: switches (and a SIGHUP) must not undo them.
        if (auto current = tree.current_image(nd.dir)) {
            std::error_code ec;
            if (fs::is_directory(tree.root() / ".images" / *current / "nodes" / nd.dir, ec)) {
                continue;
            }
        }
        std::string chosen;
        if (image) {
            chosen = *image;
        } else {
            std::vector<std::string> candidates;
            for (const std::string& id : available) {
                std::error_code ec;
                if (fs::is_directory(images_dir / id / "nodes" / nd.dir, ec)) {
                    candidates.push_back(id);
                }
            }
            if (candidates.empty()) {
                return util::fail(util::Errc::not_found, "node ", nd.node->name, ": no image in ",
                                  images_dir.string(), " has nodes/", nd.dir);
            }
            if (candidates.size() > 1) {
                return util::fail(util::Errc::invalid_input, "node ", nd.node->name, ": ",
                                  std::to_string(candidates.size()), " images in ",
                                  images_dir.string(), " have nodes/", nd.dir,
                                  "; pass --image or use 'uhs-netboot switch'");
            }
            chosen = candidates.front();
        }
        UHS_CHECK(tree.import_image(images_dir, chosen));
        if (tree.current_image(nd.dir) != chosen) {
            UHS_CHECK(tree.switch_directory(nd.dir, chosen));
            log << "published " << nd.dir << " (" << nd.node->name << ") -> " << chosen << '\n';
        }
    }
    return {};
}

} // namespace uhs::netboot
