// SPDX-License-Identifier: Apache-2.0
#include "builder/image/plan.hpp"

#include <set>
#include <sstream>

namespace uhs::image {

using config::BoardModel;

BootFiles boot_files_for(BoardModel model) {
    const bool bcm2711 = model == BoardModel::cm4;
    return BootFiles{
        bcm2711 ? "kernel8.img" : "kernel_2712.img",
        bcm2711 ? "initramfs8" : "initramfs_2712",
        std::string(config::default_dtb(model)),
    };
}

util::Result<BuildPlan> make_build_plan(const config::Cluster& cluster,
                                        const std::filesystem::path& out_dir) {
    BuildPlan plan;
    plan.inputs = UHS_TRY(collect_image_id_inputs(cluster));
    plan.image_dir = out_dir / plan.inputs.image_id().value_or("<image-id>");

    std::set<std::string> boot;
    for (const config::Node& node : cluster.nodes) {
        NodePlan np;
        np.node = &node;
        np.boot = boot_files_for(node.model);
        if (auto dir = node.serial_directory()) {
            np.directories.push_back(*dir);
        }
        if (auto dir = node.mac_directory()) {
            np.directories.push_back(*dir);
        }
        for (const std::string& dir : np.directories) {
            np.artifacts.push_back("nodes/" + dir + "/config.txt");
            np.artifacts.push_back("nodes/" + dir + "/cmdline.txt");
        }
        boot.insert("boot/" + np.boot.kernel);
        boot.insert("boot/" + np.boot.initramfs);
        boot.insert("boot/" + np.boot.dtb);
        plan.nodes.push_back(std::move(np));
    }
    plan.shared_artifacts = {"rootfs.tar"};
    plan.shared_artifacts.insert(plan.shared_artifacts.end(), boot.begin(), boot.end());
    plan.shared_artifacts.push_back("boot/overlays/");
    plan.shared_artifacts.push_back("manifest.json");
    plan.shared_artifacts.push_back("sbom.spdx.json");
    return plan;
}

nlohmann::json to_json(const BuildPlan& plan) {
    using nlohmann::json;
    json overlays = json::array();
    for (const auto& overlay : plan.inputs.overlays) {
        overlays.push_back(
            {{"name", overlay.name}, {"path", overlay.path.string()}, {"sha256", overlay.sha256}});
    }
    json nodes = json::array();
    for (const NodePlan& np : plan.nodes) {
        const config::Node& n = *np.node;
        nodes.push_back({
            {"name", n.name},
            {"slot", n.slot},
            {"model", config::to_string(n.model)},
            {"role", config::to_string(n.role)},
            {"ip", n.ip.to_string()},
            {"serial", n.serial ? json(*n.serial) : json(nullptr)},
            {"mac", n.mac ? json(n.mac->with_colons()) : json(nullptr)},
            {"enrolled", !np.directories.empty()},
            {"netboot_directories", np.directories},
            {"boot",
             {{"kernel", np.boot.kernel}, {"initramfs", np.boot.initramfs}, {"dtb", np.boot.dtb}}},
            {"artifacts", np.artifacts},
        });
    }
    const auto id = plan.inputs.image_id();
    return json{
        {"image_id", id ? json(*id) : json(nullptr)},
        {"image_dir", plan.image_dir.string()},
        {"inputs",
         {{"lock",
           {{"path", plan.inputs.lock_file.string()},
            {"sha256", plan.inputs.lock_sha256 ? json(*plan.inputs.lock_sha256) : json(nullptr)}}},
          {"overlays", overlays},
          {"config",
           {{"sha256", plan.inputs.config_sha256}, {"subset", plan.inputs.config_subset}}},
          {"tool_version", plan.inputs.tool_version}}},
        {"artifacts", plan.shared_artifacts},
        {"nodes", nodes},
    };
}

std::string to_text(const BuildPlan& plan) {
    std::ostringstream out;
    const auto id = plan.inputs.image_id();
    out << "image-id: " << id.value_or("(unknown until the lock exists: run 'uhs-image lock')")
        << "\n";
    out << "  lock     " << plan.inputs.lock_file.string() << "  "
        << plan.inputs.lock_sha256.value_or("missing") << "\n";
    for (const auto& overlay : plan.inputs.overlays) {
        out << "  overlay  " << overlay.name << "  " << overlay.sha256 << "\n";
    }
    out << "  config   " << plan.inputs.config_sha256 << "\n";
    out << "  tool     uhs " << plan.inputs.tool_version << "\n";
    out << "\nimage directory: " << plan.image_dir.string() << "/\n";
    for (const std::string& artifact : plan.shared_artifacts) {
        out << "  " << artifact << "\n";
    }
    out << "\nnodes:\n";
    for (const NodePlan& np : plan.nodes) {
        const config::Node& n = *np.node;
        out << "  " << n.name << "  slot " << n.slot << "  " << config::to_string(n.model) << "  "
            << config::to_string(n.role) << "  " << n.ip.to_string() << "\n";
        if (np.directories.empty()) {
            out << "    not enrolled: no serial or MAC yet (run 'uhs-image enroll')\n";
        }
        for (const std::string& dir : np.directories) {
            out << "    tftp " << dir << "/  ->  nodes/" << dir << "/{config.txt,cmdline.txt}\n";
        }
        out << "    boots " << np.boot.kernel << " + " << np.boot.initramfs << " + " << np.boot.dtb
            << "\n";
    }
    return out.str();
}

} // namespace uhs::image
