// SPDX-License-Identifier: Apache-2.0
#include "firmware/bootcfg/boot_chain.hpp"

#include "builder/config/board.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/initramfs.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <fnmatch.h>
#include <libfdt.h>
#include <sys/stat.h>

namespace uhs::bootcfg {

namespace fs = std::filesystem;
using config::Board;
using config::board_for;

std::string Finding::to_line() const {
    return "node " + node + ": " + file + ": " + message;
}

std::span<const std::string_view> boot_chain_checks() {
    static constexpr std::array k_checks{k_check_files,  k_check_device_tree, k_check_ethernet,
                                         k_check_driver, k_check_root_driver, k_check_page_size,
                                         k_check_tftp,   k_check_console};
    return k_checks;
}

ConfigTxtFiles files_of_config_txt(std::string_view config_txt, config::BoardModel model) {
    const Board& board = board_for(model);
    ConfigTxtFiles files{std::string(board.kernel), "", std::string(board.default_dtb), {}};
    for (std::string_view raw : util::split(config_txt, '\n')) {
        std::string_view line = util::trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == '[') {
            continue;
        }
        auto value_of = [&](std::string_view key) -> std::optional<std::string_view> {
            if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == '=') {
                return util::trim(line.substr(key.size() + 1));
            }
            return std::nullopt;
        };
        if (auto v = value_of("kernel")) {
            files.kernel = *v;
        } else if (auto dt = value_of("device_tree")) {
            files.device_tree = *dt;
        } else if (auto overlay = value_of("dtoverlay")) {
            const std::string_view name = overlay->substr(0, overlay->find(','));
            if (!name.empty()) {
                files.overlays.push_back("overlays/" + std::string(name) + ".dtbo");
            }
        } else if (line.starts_with("initramfs ")) {
            // `initramfs NAME followkernel|ADDRESS`
            const std::string_view rest = util::trim(line.substr(10));
            files.initramfs = rest.substr(0, rest.find_first_of(" \t"));
        }
    }
    return files;
}

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string underscored(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

std::string join_names(const std::vector<std::string>& names, std::string_view separator = ", ") {
    return util::join(names, separator);
}

} // namespace

std::vector<std::string> resolve_modalias(std::string_view modules_alias,
                                          std::string_view modalias) {
    const std::string subject(modalias);
    std::set<std::string> modules;
    for (std::string_view raw : util::split(modules_alias, '\n')) {
        const std::string_view line = util::trim(raw);
        if (!line.starts_with("alias ")) {
            continue;
        }
        const std::string_view rest = util::trim(line.substr(6));
        const auto space = rest.find_first_of(" \t");
        if (space == std::string_view::npos) {
            continue;
        }
        const std::string pattern(rest.substr(0, space));
        const std::string_view module = util::trim(rest.substr(space));
        if (!module.empty() && ::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0) {
            modules.insert(underscored(module));
        }
    }
    return {modules.begin(), modules.end()};
}

namespace {

// modules.builtin.modinfo: NUL-separated "module.key=value" records; the aliases of built-in
// drivers, which modules.alias does not list.
std::vector<std::string> resolve_builtin(std::string_view modinfo, std::string_view modalias) {
    const std::string subject(modalias);
    std::set<std::string> modules;
    for (std::string_view record : util::split(modinfo, '\0')) {
        const auto dot = record.find(".alias=");
        if (dot == std::string_view::npos) {
            continue;
        }
        const std::string pattern(record.substr(dot + 7));
        if (::fnmatch(pattern.c_str(), subject.c_str(), 0) == 0) {
            modules.insert(underscored(record.substr(0, dot)));
        }
    }
    return {modules.begin(), modules.end()};
}

// A parsed device tree, read with libfdt.
class Tree {
public:
    static util::Result<Tree> load(const fs::path& path) {
        Tree tree;
        tree.m_blob = UHS_TRY(util::read_file(path));
        if (tree.m_blob.size() < sizeof(fdt_header) || fdt_check_header(tree.fdt()) != 0 ||
            fdt_totalsize(tree.fdt()) > tree.m_blob.size() ||
            fdt_check_full(tree.fdt(), tree.m_blob.size()) != 0) {
            return util::fail(util::Errc::invalid_input, "not a flattened device tree");
        }
        return tree;
    }

    const void* fdt() const { return m_blob.data(); }

    std::vector<std::string> strings(int node, const char* property) const {
        int len = 0;
        const char* value = static_cast<const char*>(fdt_getprop(fdt(), node, property, &len));
        std::vector<std::string> out;
        if (value == nullptr || len <= 0) {
            return out;
        }
        for (std::string_view s : util::split(std::string_view(value, len - 1), '\0')) {
            out.emplace_back(s);
        }
        return out;
    }

    std::string path(int node) const {
        char buffer[512];
        return fdt_get_path(fdt(), node, buffer, sizeof buffer) == 0 ? buffer : "?";
    }

    // The node, or its nearest ancestor, that a status other than "okay" disables; -1 if none.
    int disabled_by(int node) const {
        for (int n = node; n >= 0; n = fdt_parent_offset(fdt(), n)) {
            const auto status = strings(n, "status");
            if (!status.empty() && status.front() != "okay" && status.front() != "ok") {
                return n;
            }
            if (n == 0) {
                break;
            }
        }
        return -1;
    }

    // Alias names whose path is `node`.
    std::vector<std::string> aliases_of(int node) const {
        std::vector<std::string> names;
        const int aliases = fdt_path_offset(fdt(), "/aliases");
        if (aliases < 0) {
            return names;
        }
        int prop = 0;
        fdt_for_each_property_offset(prop, fdt(), aliases) {
            const char* name = nullptr;
            int len = 0;
            const char* value =
                static_cast<const char*>(fdt_getprop_by_offset(fdt(), prop, &name, &len));
            if (value != nullptr && len > 0 && value[len - 1] == '\0' &&
                fdt_path_offset(fdt(), value) == node) {
                names.emplace_back(name);
            }
        }
        return names;
    }

    std::vector<std::string> alias_names(std::string_view prefix) const {
        std::vector<std::string> names;
        const int aliases = fdt_path_offset(fdt(), "/aliases");
        int prop = 0;
        if (aliases >= 0) {
            fdt_for_each_property_offset(prop, fdt(), aliases) {
                const char* name = nullptr;
                int len = 0;
                if (fdt_getprop_by_offset(fdt(), prop, &name, &len) != nullptr &&
                    std::string_view(name).starts_with(prefix)) {
                    names.emplace_back(name);
                }
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    // The kernel's OF modalias of a node: of:N<name>T<device_type>C<compatible>... .
    std::string modalias(int node) const {
        std::string name = fdt_get_name(fdt(), node, nullptr);
        name = name.substr(0, name.find('@'));
        const auto type = strings(node, "device_type");
        std::string out = "of:N" + name + "T" + (type.empty() ? "(null)" : type.front());
        for (std::string compatible : strings(node, "compatible")) {
            std::replace(compatible.begin(), compatible.end(), ' ', '_');
            out += "C" + compatible;
        }
        return out;
    }

private:
    std::string m_blob;
};

std::string seconds_text(double seconds) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", seconds);
    return buffer;
}

// The checks of one node, with the files several nodes share read once.
class Checker {
public:
    Checker(const fs::path& boot_dir, const KernelFacts& kernel, const ChainLimits& limits)
        : m_boot(boot_dir), m_kernel(kernel), m_limits(limits) {
        for (std::string_view line : util::split(kernel.modules_builtin, '\n')) {
            if (std::string module = module_name_of(util::trim(line)); !module.empty()) {
                m_builtin.insert(std::move(module));
            }
        }
    }

    void run(const NodeBoot& node) {
        m_node = &node;
        const Board& board = board_for(node.model);
        const ConfigTxtFiles files = files_of_config_txt(node.config_txt, node.model);
        // files: everything config.txt names is in boot/.
        std::vector<std::string> loaded = {files.kernel, files.initramfs, files.device_tree};
        loaded.insert(loaded.end(), files.overlays.begin(), files.overlays.end());
        bool all_there = true;
        if (files.initramfs.empty()) {
            add("config.txt", k_check_files, false,
                "names no initramfs (`initramfs NAME followkernel`)");
            all_there = false;
        }
        for (const std::string& name : loaded) {
            if (!name.empty() && !is_file(name)) {
                add("boot/" + name, k_check_files, false,
                    "missing: config.txt names it but boot/ has no such file");
                all_there = false;
            }
        }
        if (all_there) {
            add("config.txt", k_check_files, true,
                "kernel, initramfs, device tree and overlays are in boot/");
        }
        check_tree(board, files);
        check_root_driver(files);
        check_page_size();
        for (const std::string& name : loaded) {
            if (!name.empty() && is_file(name)) {
                check_tftp(name);
            }
        }
    }

    std::vector<Finding> take() { return std::move(m_findings); }

private:
    void add(const std::string& file, std::string_view check, bool ok, const std::string& message) {
        m_findings.push_back({m_node->name, file, std::string(check), ok, message});
    }

    bool is_file(const std::string& name) const {
        std::error_code ec;
        return fs::is_regular_file(m_boot / name, ec);
    }

    const util::Result<Tree>& tree(const std::string& name) {
        auto it = m_trees.find(name);
        if (it == m_trees.end()) {
            it = m_trees.emplace(name, Tree::load(m_boot / name)).first;
        }
        return it->second;
    }

    const util::Result<std::set<std::string>>& initramfs_modules(const std::string& name) {
        auto it = m_initramfs.find(name);
        if (it == m_initramfs.end()) {
            auto members = initramfs_members(m_boot / name);
            util::Result<std::set<std::string>> modules =
                members ? util::Result<std::set<std::string>>(module_names(*members))
                        : std::unexpected(members.error());
            it = m_initramfs.emplace(name, std::move(modules)).first;
        }
        return it->second;
    }

    void check_tree(const Board& board, const ConfigTxtFiles& files) {
        const std::string dtb = "boot/" + files.device_tree;
        if (files.device_tree.empty() || !is_file(files.device_tree)) {
            return; // reported by the files check
        }
        const auto& loaded = tree(files.device_tree);
        if (!loaded) {
            add(dtb, k_check_device_tree, false, loaded.error().message);
            return;
        }
        const Tree& t = *loaded;
        // device-tree: the root's compatible names the board's SoC.
        const auto compatible = t.strings(0, "compatible");
        const bool soc_ok = std::any_of(
            board.soc_compatible.begin(), board.soc_compatible.end(), [&](std::string_view soc) {
                return fdt_node_check_compatible(t.fdt(), 0, std::string(soc).c_str()) == 0;
            });
        std::vector<std::string> wanted(board.soc_compatible.begin(), board.soc_compatible.end());
        if (soc_ok) {
            add(dtb, k_check_device_tree, true,
                "compatible " + join_names(compatible) + " is a BCM" + std::to_string(board.soc));
        } else {
            add(dtb, k_check_device_tree, false,
                "compatible '" + join_names(compatible) + "' is not the " +
                    std::string(config::to_string(board.model)) + "'s SoC (needs " +
                    join_names(wanted) + ")");
        }
        check_ethernet(t, board, dtb, files);
        check_console(t, dtb);
    }

    void check_ethernet(const Tree& t, const Board& board, const std::string& dtb,
                        const ConfigTxtFiles& files) {
        int found = -1;
        std::string problem;
        for (std::string_view c : board.ethernet_compatible) {
            const std::string compatible(c);
            for (int n = fdt_node_offset_by_compatible(t.fdt(), -1, compatible.c_str()); n >= 0;
                 n = fdt_node_offset_by_compatible(t.fdt(), n, compatible.c_str())) {
                if (const int off = t.disabled_by(n); off >= 0) {
                    problem = "Ethernet node " + t.path(n) + " (" + compatible + ") is disabled" +
                              (off == n ? "" : " (by " + t.path(off) + ")");
                    continue;
                }
                if (t.aliases_of(n).empty()) {
                    problem = "Ethernet node " + t.path(n) + " (" + compatible +
                              ") has no alias in /aliases (like ethernet0): the firmware cannot "
                              "give it the board's MAC address";
                    continue;
                }
                found = n;
                break;
            }
            if (found >= 0) {
                break;
            }
        }
        std::vector<std::string> wanted(board.ethernet_compatible.begin(),
                                        board.ethernet_compatible.end());
        if (found < 0) {
            add(dtb, k_check_ethernet, false,
                problem.empty() ? "no Ethernet node (compatible " + join_names(wanted, " or ") + ")"
                                : problem);
            return;
        }
        add(dtb, k_check_ethernet, true,
            "Ethernet " + t.path(found) + " enabled, alias " + join_names(t.aliases_of(found)));
        // nic-driver: the node's driver and the bridge's, then the whole chain, in the initramfs.
        const std::string initramfs = "boot/" + files.initramfs;
        if (files.initramfs.empty() || !is_file(files.initramfs)) {
            return; // reported by the files check
        }
        if (!m_kernel.modules_alias) {
            add("modules.alias", k_check_driver, false,
                "kernel " + m_kernel.version + " has no /usr/lib/modules/" + m_kernel.version +
                    "/modules.alias: cannot tell which module drives the Ethernet");
            return;
        }
        const auto& modules = initramfs_modules(files.initramfs);
        if (!modules) {
            add(initramfs, k_check_driver, false, modules.error().message);
            return;
        }
        bool ok = true;
        std::set<std::string> reported; // a module named missing once, not again for the chain
        auto need = [&](const std::string& modalias, const std::string& what) {
            const auto builtin = resolve_builtin(m_kernel.modules_builtin_modinfo, modalias);
            if (!builtin.empty()) {
                return;
            }
            const auto loadable = resolve_modalias(*m_kernel.modules_alias, modalias);
            if (loadable.empty()) {
                add(initramfs, k_check_driver, false,
                    "kernel " + m_kernel.version + " has no driver for " + what +
                        " (modules.alias matches nothing for " + modalias + ")");
                ok = false;
                return;
            }
            if (std::none_of(loadable.begin(), loadable.end(),
                             [&](const std::string& m) { return modules->contains(m); })) {
                add(initramfs, k_check_driver, false,
                    "module " + join_names(loadable, " or ") + " (the driver of " + what +
                        ") is not in the initramfs");
                reported.insert(loadable.begin(), loadable.end());
                ok = false;
            }
        };
        need(t.modalias(found), t.path(found));
        if (!board.ethernet_bridge_pci.empty()) {
            need(std::string(board.ethernet_bridge_pci),
                 "the Ethernet's PCIe bridge " + std::string(board.ethernet_bridge_pci.substr(
                                                     0, board.ethernet_bridge_pci.find("sv"))));
        }
        for (std::string_view m : board.nic_modules) {
            const std::string module(m);
            if (!modules->contains(module) && !m_builtin.contains(module) &&
                !reported.contains(module)) {
                add(initramfs, k_check_driver, false,
                    "module " + module +
                        " (Ethernet driver chain) is neither in the initramfs nor built into "
                        "kernel " +
                        m_kernel.version);
                ok = false;
            }
        }
        if (ok) {
            std::vector<std::string> chain(board.nic_modules.begin(), board.nic_modules.end());
            add(initramfs, k_check_driver, true, "Ethernet drivers present: " + join_names(chain));
        }
    }

    // root-driver: what mounts the root cmdline.txt's root= names is in the initramfs or built
    // into the kernel. The initramfs holds a short list (overlays/nfsroot's hook), not
    // initramfs-tools' base set, so a filesystem left out would stop every boot at the mount.
    void check_root_driver(const ConfigTxtFiles& files) {
        if (files.initramfs.empty() || !is_file(files.initramfs)) {
            return; // reported by the files check
        }
        std::string root;
        std::string fstype;
        bool overlay = true;
        for (std::string_view token : util::split(util::trim(m_node->cmdline_txt), ' ')) {
            if (token.starts_with("root=")) {
                root = token.substr(5);
            } else if (token.starts_with("rootfstype=")) {
                fstype = token.substr(11);
            } else if (token == "uhs.overlay=off") {
                overlay = false;
            }
        }
        if (root.empty()) {
            add("cmdline.txt", k_check_root_driver, false,
                "names no root=: the initramfs would not know what to mount");
            return;
        }
        std::vector<std::string> wanted;
        std::string what;
        if (root == "/dev/nfs") {
            // klibc's nfsmount speaks NFS v3; uhs-overlayroot puts a tmpfs overlay on it.
            wanted = {"nfs", "nfsv3"};
            if (overlay) {
                wanted.push_back("overlay");
            }
            what = "the NFS root";
        } else {
            wanted = {fstype.empty() ? std::string("ext4") : fstype};
            what = "the root " + root;
        }
        const std::string initramfs = "boot/" + files.initramfs;
        const auto& modules = initramfs_modules(files.initramfs);
        if (!modules) {
            add(initramfs, k_check_root_driver, false, modules.error().message);
            return;
        }
        std::vector<std::string> missing;
        for (std::string& module : wanted) {
            std::replace(module.begin(), module.end(), '-', '_');
            if (!modules->contains(module) && !m_builtin.contains(module)) {
                missing.push_back(module);
            }
        }
        if (!missing.empty()) {
            add(initramfs, k_check_root_driver, false,
                "module " + join_names(missing) + " (to mount " + what +
                    ") is neither in the initramfs nor built into kernel " + m_kernel.version);
            return;
        }
        add(initramfs, k_check_root_driver, true,
            "drivers for " + what + " present: " + join_names(wanted));
    }

    void check_console(const Tree& t, const std::string& dtb) {
        bool any = false;
        for (std::string_view token : util::split(util::trim(m_node->cmdline_txt), ' ')) {
            if (!token.starts_with("console=")) {
                continue;
            }
            const std::string_view value = token.substr(8);
            const std::string device(value.substr(0, value.find(',')));
            std::string index;
            for (std::string_view prefix : {"serial", "ttyAMA", "ttyS"}) {
                if (device.starts_with(prefix) && device.size() > prefix.size() &&
                    all_digits(std::string_view(device).substr(prefix.size()))) {
                    index = device.substr(prefix.size());
                }
            }
            if (index.empty()) {
                continue; // a virtual console (tty1) or something that is no UART
            }
            any = true;
            const std::string alias = "serial" + index;
            const char* path = fdt_get_alias(t.fdt(), alias.c_str());
            const int node = path ? fdt_path_offset(t.fdt(), path) : -1;
            if (node < 0) {
                const auto have = t.alias_names("serial");
                add("cmdline.txt", k_check_console, false,
                    "console=" + device + " needs the alias " + alias + ", which " + dtb +
                        " does not have (its UARTs: " +
                        (have.empty() ? std::string("none") : join_names(have)) + ")");
            } else if (t.disabled_by(node) >= 0) {
                add("cmdline.txt", k_check_console, false,
                    "console=" + device + ": " + alias + " (" + path + ") is disabled in " + dtb);
            } else {
                add("cmdline.txt", k_check_console, true, "console=" + device + " is " + path);
            }
        }
        if (!any) {
            add("cmdline.txt", k_check_console, true, "no serial console");
        }
    }

    void check_page_size() {
        if (!m_limits.kubernetes) {
            return;
        }
        const std::string file = m_kernel.config_file.empty() ? "/boot/config-" + m_kernel.version
                                                              : m_kernel.config_file;
        if (!m_kernel.config) {
            add(file, k_check_page_size, false,
                "no kernel config in the root (looked for " + file +
                    "): cannot tell the kernel's page size (Kubernetes needs 4K)");
            return;
        }
        std::string pages;
        for (std::string_view line : util::split(*m_kernel.config, '\n')) {
            for (std::string_view size : {"4K", "16K", "64K"}) {
                if (util::trim(line) == "CONFIG_ARM64_" + std::string(size) + "_PAGES=y") {
                    pages = size;
                }
            }
        }
        if (pages == "4K") {
            add(file, k_check_page_size, true, "4K pages");
        } else if (pages.empty()) {
            add(file, k_check_page_size, false,
                "sets none of CONFIG_ARM64_{4K,16K,64K}_PAGES: not an arm64 kernel config?");
        } else {
            add(file, k_check_page_size, false,
                pages + " pages (CONFIG_ARM64_" + pages +
                    "_PAGES=y): many container images crash on them; Kubernetes nodes need a "
                    "4K-page kernel");
        }
    }

    void check_tftp(const std::string& name) {
        struct stat st {};
        if (::stat((m_boot / name).c_str(), &st) != 0) {
            return;
        }
        const auto size = static_cast<std::uint64_t>(st.st_size);
        const std::uint64_t blocks = (size + k_tftp_block_size - 1) / k_tftp_block_size;
        const double seconds = static_cast<double>(size) / k_tftp_bytes_per_second;
        const double limit = m_limits.tftp_file_timeout_ms / 1000.0;
        const bool wraps = m_limits.bootloader && *m_limits.bootloader >= k_tftp_wrap_bootloader;
        const std::string file = "boot/" + name;
        bool ok = true;
        if (blocks > k_tftp_max_blocks && !wraps) {
            add(file, k_check_tftp, false,
                std::to_string(size) + " bytes is " + std::to_string(blocks) + " TFTP blocks of " +
                    std::to_string(k_tftp_block_size) + ": bootloaders before " +
                    std::string(k_tftp_wrap_bootloader) + " fail after 65535 (" +
                    (m_limits.bootloader
                         ? "firmware.bootloader is " + *m_limits.bootloader
                         : std::string("the cluster declares no firmware.bootloader")) +
                    ")");
            ok = false;
        }
        if (seconds > limit) {
            add(file, k_check_tftp, false,
                std::to_string(size) + " bytes take " + seconds_text(seconds) +
                    " s at 3 MB/s, over TFTP_FILE_TIMEOUT (" + seconds_text(limit) +
                    " s; firmware.tftp_file_timeout)");
            ok = false;
        }
        if (ok) {
            add(file, k_check_tftp, true,
                std::to_string(size) + " bytes, " + std::to_string(blocks) + " blocks, about " +
                    seconds_text(seconds) + " s");
        }
    }

    fs::path m_boot;
    const KernelFacts& m_kernel;
    const ChainLimits& m_limits;
    std::set<std::string> m_builtin;
    const NodeBoot* m_node = nullptr;
    std::map<std::string, util::Result<Tree>> m_trees;
    std::map<std::string, util::Result<std::set<std::string>>> m_initramfs;
    std::vector<Finding> m_findings;
};

std::optional<std::string> read_optional(const fs::path& path) {
    auto text = util::read_file(path);
    return text ? std::optional(std::move(*text)) : std::nullopt;
}

} // namespace

std::vector<Finding> check_boot_chain(std::span<const NodeBoot> nodes, const fs::path& boot_dir,
                                      const KernelFacts& kernel, const ChainLimits& limits) {
    Checker checker(boot_dir, kernel, limits);
    for (const NodeBoot& node : nodes) {
        if (board_for(node.model).raspberry_pi_firmware()) {
            checker.run(node);
        }
    }
    return checker.take();
}

KernelFacts read_kernel_facts(const fs::path& root, std::string_view version) {
    KernelFacts facts;
    facts.version = version;
    // Debian's kernels put their config in /boot; a kernel packaged under /usr/lib/modules (as
    // trixie-backports' split packages may be) can carry it there.
    const std::string boot_config = "/boot/config-" + facts.version;
    const std::string modules_config = "/usr/lib/modules/" + facts.version + "/config";
    facts.config_file = boot_config + " or " + modules_config;
    for (const std::string& path : {boot_config, modules_config}) {
        if (auto text = read_optional(root / path.substr(1))) {
            facts.config = std::move(text);
            facts.config_file = path;
            break;
        }
    }
    // Debian's usrmerge root has /lib -> usr/lib; look under usr/lib first.
    for (const fs::path& base :
         {root / "usr/lib/modules" / facts.version, root / "lib/modules" / facts.version}) {
        if (auto alias = read_optional(base / "modules.alias")) {
            facts.modules_alias = std::move(alias);
            facts.modules_builtin = read_optional(base / "modules.builtin").value_or("");
            facts.modules_builtin_modinfo =
                read_optional(base / "modules.builtin.modinfo").value_or("");
            break;
        }
    }
    return facts;
}

} // namespace uhs::bootcfg
