// SPDX-License-Identifier: Apache-2.0
#include "builder/image/node_trees.hpp"

#include "builder/image/plan.hpp"
#include "builder/util/fs.hpp"
#include "firmware/bootcfg/node_boot.hpp"

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

util::Status symlink_to_boot(const fs::path& dir, const std::string& name) {
    std::error_code ec;
    fs::create_symlink(fs::path("../../boot") / name, dir / name, ec);
    if (ec) {
        return fail(Errc::io, "cannot link ", (dir / name).string(), ": ", ec.message());
    }
    return {};
}

} // namespace

util::Status write_node_trees(const config::Cluster& cluster, std::string_view image_id,
                              const fs::path& image_dir) {
    for (const config::Node& node : cluster.nodes) {
        const BootFiles boot = boot_files_for(node);
        const std::string config_txt = bootcfg::render_config_txt(cluster, node, image_id);
        const std::string cmdline = bootcfg::render_cmdline(cluster, node, image_id);
        for (const auto& name : {node.serial_directory(), node.mac_directory()}) {
            if (!name) {
                continue;
            }
            const fs::path dir = image_dir / "nodes" / *name;
            UHS_CHECK(util::create_dirs(dir));
            UHS_CHECK(util::write_file_atomic(dir / "config.txt", config_txt));
            UHS_CHECK(util::write_file_atomic(dir / "cmdline.txt", cmdline));
            for (const std::string& file :
                 {boot.kernel, boot.initramfs, boot.dtb, std::string("overlays")}) {
                UHS_CHECK(symlink_to_boot(dir, file));
            }
        }
    }
    return {};
}

} // namespace uhs::image
