// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"
#include "netboot/dhcp/proxy.hpp"
#include "netboot/tftp/tree.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace uhs::netboot {

// The default state directory: tftproot/ and the remap file live here.
inline constexpr const char* k_default_state_dir = "/var/lib/uhs-netboot";

// What a uefi-arm64 node is told to load: <mac-dashes>/bootaa64.efi in the tree, which the
// node directory links to the image's boot/bootaa64.efi like every shared boot file (the
// removable-media name UEFI uses for arm64).
inline constexpr const char* k_uefi_arm64_boot_file = "bootaa64.efi";

struct ServeOptions {
    std::filesystem::path cluster_file;
    std::filesystem::path images_dir;
    std::filesystem::path state_dir = k_default_state_dir;
    std::optional<std::string> image;        // image for nodes not yet published
    std::optional<std::string> interface;    // DHCP interface; default: the cluster's
    std::optional<std::string> tftp_address; // default: the cluster's network.server
    std::uint16_t tftp_port = 69;
    std::uint16_t dhcp_port = 67;
    std::uint16_t pxe_port = 4011; // PXE boot server port (UEFI clients' second request)
    std::string http_address = "127.0.0.1";
    std::uint16_t http_port = 9469;
    dhcp::AllowUnknown allow_unknown = dhcp::AllowUnknown::no;
    std::vector<std::uint32_t> relays; // trusted DHCP relays' giaddr (host byte order)
    std::filesystem::path tftpd = "/usr/sbin/in.tftpd";
    std::string tftpd_user = "tftp";
    std::optional<std::string> user; // drop to this user after binding (when started as root)
};

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

// Runs the service until SIGTERM/SIGINT: publishes, supervises in.tftpd, answers proxyDHCP,
// serves /status and /metrics; SIGHUP reloads the cluster and images. Returns the exit code.
int serve(const ServeOptions& options, std::ostream& log);

} // namespace uhs::netboot
