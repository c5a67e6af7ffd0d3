// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/image/image_id.hpp"
#include "builder/util/result.hpp"

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

struct NodePlan {
    const config::Node* node = nullptr;
    std::vector<std::string> directories; // netboot directory names (serial, MAC), if enrolled
    BootFiles boot;
    std::vector<std::string> artifacts; // paths relative to the image directory
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
std::string to_text(const BuildPlan& plan);

} // namespace uhs::image
