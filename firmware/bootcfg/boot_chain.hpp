// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::bootcfg {

// The boot-chain check: could each node boot on its hardware from this image? It reads only
// plain inputs (the node's config.txt and cmdline.txt, the image's boot/ directory, the
// kernel's config and module tables), so a unit test drives it with small fixtures and
// `uhs-image build` with the root it just made.

// One result. `check` is one of the k_check_* names; `file` is what the finding is about
// (relative to the image directory where it is one of its files).
struct Finding {
    std::string node;
    std::string file;
    std::string check;
    bool ok = false;
    std::string message;

    // "node NAME: FILE: MESSAGE", the line `build` prints for an error.
    std::string to_line() const;
};

inline constexpr std::string_view k_check_files = "files";             // config.txt's files exist
inline constexpr std::string_view k_check_device_tree = "device-tree"; // valid FDT, board's SoC
inline constexpr std::string_view k_check_ethernet = "ethernet";       // enabled, aliased NIC node
inline constexpr std::string_view k_check_driver = "nic-driver"; // its modules in the initramfs
inline constexpr std::string_view k_check_root_driver = "root-driver"; // root's fs in initramfs
inline constexpr std::string_view k_check_page_size = "page-size";     // 4K pages for Kubernetes
inline constexpr std::string_view k_check_tftp = "tftp";               // size and time limits
inline constexpr std::string_view k_check_console = "console";         // console= UART in the tree

// Every check name, in the order findings come.
std::span<const std::string_view> boot_chain_checks();

struct NodeBoot {
    std::string name;
    config::BoardModel model = config::BoardModel::cm5_lite;
    std::string config_txt;
    std::string cmdline_txt;
};

// What the image's kernel says about itself. A missing file is nullopt (and a finding).
struct KernelFacts {
    std::string version;               // "6.12.57+deb13-arm64"
    std::optional<std::string> config; // /boot/config-<version> (or modules/<v>/config)
    std::string config_file; // where `config` was read or looked for; empty: /boot/config-<v>
    std::optional<std::string> modules_alias; // /usr/lib/modules/<version>/modules.alias
    std::string modules_builtin;              // modules.builtin (empty when absent)
    std::string modules_builtin_modinfo;      // modules.builtin.modinfo (empty when absent)
};

struct ChainLimits {
    bool kubernetes = true;                // the cluster runs Kubernetes: 4K pages needed
    std::optional<std::string> bootloader; // the oldest bootloader the nodes run, YYYY-MM-DD
    int tftp_file_timeout_ms = 30000;      // the EEPROM's TFTP_FILE_TIMEOUT
};

// The TFTP assumptions (FACTS-pi-boot.md §3.3): blksize 1468 on CM5; block numbers wrap only
// from the 2025-09-23 bootloader on; a pessimistic 3 MB/s (3,300,000 B/s measured).
inline constexpr std::uint64_t k_tftp_block_size = 1468;
inline constexpr std::uint64_t k_tftp_max_blocks = 65535;
inline constexpr std::string_view k_tftp_wrap_bootloader = "2025-09-23";
inline constexpr double k_tftp_bytes_per_second = 3'000'000;

// Runs every check for every node (UEFI nodes have no Raspberry Pi boot chain and are skipped).
// Files shared by several nodes are read once.
std::vector<Finding> check_boot_chain(std::span<const NodeBoot> nodes,
                                      const std::filesystem::path& boot_dir,
                                      const KernelFacts& kernel, const ChainLimits& limits);

// The kernel facts of `version` inside an unpacked root.
KernelFacts read_kernel_facts(const std::filesystem::path& root, std::string_view version);

// The files config.txt makes the firmware load from boot/: kernel, initramfs, device tree
// (the board's default when config.txt names none) and overlays/<name>.dtbo for each
// dtoverlay. Every section is read: uhs writes [all] only, and a file in any section may load.
struct ConfigTxtFiles {
    std::string kernel;
    std::string initramfs;
    std::string device_tree;
    std::vector<std::string> overlays; // "overlays/NAME.dtbo"
};
ConfigTxtFiles files_of_config_txt(std::string_view config_txt, config::BoardModel model);

// modprobe's lookup: the modules whose `alias PATTERN MODULE` line of modules.alias matches
// `modalias` (fnmatch), sorted, dashes as underscores.
std::vector<std::string> resolve_modalias(std::string_view modules_alias,
                                          std::string_view modalias);

} // namespace uhs::bootcfg
