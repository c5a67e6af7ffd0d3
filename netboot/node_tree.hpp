// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"
#include "netboot/tftp/tree.hpp"

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

// Which images the nodes' TFTP directories point at, and who may change that.
namespace uhs::netboot {

// The daemon's exclusive lock on a state directory (flock on <state>/serve.lock). While a
// daemon holds it, `switch`/`rollback` only record a pending switch that the daemon applies at
// the node's next DISCOVER; without a daemon they switch at once.
class StateLock {
public:
    // Takes the lock if free: nullopt when another process holds it; an error when the lock
    // file cannot be created.
    static util::Result<std::optional<StateLock>>
    try_acquire(const std::filesystem::path& state_dir);
    StateLock(StateLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    StateLock& operator=(StateLock&&) = delete;
    StateLock(const StateLock&) = delete;
    ~StateLock();

private:
    explicit StateLock(int fd) : m_fd(fd) {}
    int m_fd = -1;
};

// One TFTP directory of one node.
struct NodeDirectory {
    const config::Node* node = nullptr;
    std::string dir;
};

// Every TFTP directory of every enrolled node, in cluster order.
std::vector<NodeDirectory> node_directories(const config::Cluster& cluster);

// Makes sure every node directory of `cluster` is published in `tree` from `images_dir`:
// already-published directories are kept; others get `image` or, without it, the only image
// in `images_dir` that has the directory. Imports the images it uses. Fails naming the
// directory when no image, or more than one, could serve it.
util::Status publish_cluster(const config::Cluster& cluster, const tftp::Tree& tree,
                             const std::filesystem::path& images_dir,
                             const std::optional<std::string>& image, std::ostream& log);

} // namespace uhs::netboot
