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

// Runs the service until SIGTERM/SIGINT: publishes, supervises in.tftpd, answers proxyDHCP,
// serves /status and /metrics; SIGHUP reloads the cluster and images. Returns the exit code.
int serve(const ServeOptions& options, std::ostream& log);

} // namespace uhs::netboot
