// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/image/image_id.hpp"
#include "builder/util/result.hpp"
#include "firmware/bootcfg/boot_chain.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace uhs::image {

// Boot file names the Raspberry Pi firmware looks for, by SoC.
struct BootFiles {
    std::string kernel;    // kernel_2712.img / kernel8.img
    std::string initramfs; // initramfs_2712 / initramfs8
    std::string dtb;       // the model's default device tree
};

BootFiles boot_files_for(config::BoardModel model);
// The same for one node: its nodes[].device_tree when it names one.
BootFiles boot_files_for(const config::Node& node);

struct NodePlan {
    const config::Node* node = nullptr;
    std::vector<std::string> directories; // netboot directory names (serial, MAC), if enrolled
    BootFiles boot;
    std::vector<std::string> artifacts; // paths relative to the image directory
    // The build's boot-chain check of this node: "passed" (OUT/<id>/boot-chain.json), "failed"
    // (OUT/<id>.boot-chain.json, left by a refused build) or "pending" (not built yet).
    std::string boot_chain_state = "pending";
    std::vector<bootcfg::Finding> boot_chain;
};

// What `uhs-image build` will produce for a cluster, before it runs.
struct BuildPlan {
    ImageIdInputs inputs;
    std::filesystem::path image_dir; // OUT/<image-id>, or OUT/<image-id> as a placeholder
    std::vector<std::string> shared_artifacts;
    std::vector<NodePlan> nodes;
};

util::Result<BuildPlan> make_build_plan(const config::Cluster& cluster,
                                        const std::filesystem::path& out_dir);

nlohmann::json to_json(const BuildPlan& plan);

// boot-chain.json: {"checks": [{"node", "file", "check", "ok", "message"}...]} in check order.
nlohmann::json boot_chain_to_json(const std::vector<bootcfg::Finding>& findings);
// Its inverse; Errc::invalid_input naming `file` when the text is not such a document.
util::Result<std::vector<bootcfg::Finding>> boot_chain_from_json(const std::string& text,
                                                                 const std::string& file);
std::string to_text(const BuildPlan& plan);

} // namespace uhs::image
