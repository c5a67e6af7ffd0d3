// SPDX-License-Identifier: Apache-2.0
#include "builder/image/state_files.hpp"

#include "builder/config/board.hpp"
#include "builder/config/state_paths.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace uhs::image {

namespace fs = std::filesystem;

std::vector<GeneratedFile> render_state_files(const config::Cluster& cluster) {
    const auto paths = config::persistent_paths(cluster.storage.persist);
    std::string list =
        "# Written by uhs-image build: the paths this node keeps on its state volume\n"
        "# (/var/lib/uhs/state/<path>), from uhs's own list and the cluster file's\n"
        "# storage.persist. Read by the uhs-state generator, /usr/lib/uhs/state-seed and\n"
        "# /usr/lib/uhs/ssh-hostkeys. One per line: KIND PATH MODE (the mode when the image has\n"
        "# no such directory to seed it from).\n";
    std::map<std::string, std::vector<std::string>> by_unit;
    for (const config::PersistentPath& p : paths) {
        list += std::string(config::to_string(p.kind)) + " " + p.path + " " + p.mode + "\n";
        for (std::string_view unit : util::split(p.units, ' ')) {
            if (!unit.empty()) {
                by_unit[std::string(unit)].push_back(p.path);
            }
        }
    }
    std::vector<GeneratedFile> files;
    files.push_back({std::string(k_state_list_path), list});
    for (const auto& [unit, unit_paths] : by_unit) {
        std::string text = "# Written by uhs-image build from the list of persisted paths\n"
                           "# (/usr/lib/uhs/state-paths): " +
                           unit +
                           " starts only once they are mounted from this node's\n"
                           "# state volume, never on the tmpfs root instead.\n"
                           "[Unit]\n"
                           "RequiresMountsFor=";
        for (std::size_t i = 0; i < unit_paths.size(); ++i) {
            text += (i == 0 ? "" : " ") + unit_paths[i];
        }
        files.push_back({"usr/lib/systemd/system/" + unit + ".d/uhs-state.conf", text + "\n"});
    }
    std::sort(files.begin(), files.end(),
              [](const GeneratedFile& a, const GeneratedFile& b) { return a.path < b.path; });
    return files;
}

std::vector<GeneratedFile> render_initramfs_files(const config::Cluster& cluster) {
    std::set<std::string> modules{"virtio_net"};
    for (const config::Node& node : cluster.nodes) {
        const config::Board& board = config::board_for(node.model);
        if (board.nic_modules.empty()) {
            // A board uhs knows nothing of: every network driver, and initramfs-tools' base
            // set (buses, clocks, pins), which the known boards' lists replace.
            modules.insert("net");
            modules.insert("base");
        }
        modules.insert(board.nic_modules.begin(), board.nic_modules.end());
    }
    std::string text = "# Written by uhs-image build from its board table: the network drivers the "
                       "initramfs\n# needs for this cluster's boards (overlays/nfsroot's hook "
                       "reads it; `net` is every one, `base` initramfs-tools' base set).\n";
    for (const std::string& module : modules) {
        text += module + "\n";
    }
    return {{std::string(k_nic_modules_path), text}};
}

util::Status write_generated_tree(const std::vector<GeneratedFile>& files, const fs::path& dir) {
    for (const GeneratedFile& file : files) {
        const fs::path path = dir / file.path;
        UHS_CHECK(util::create_dirs(path.parent_path()));
        UHS_CHECK(util::write_file_atomic(path, file.text));
    }
    return {};
}

} // namespace uhs::image
