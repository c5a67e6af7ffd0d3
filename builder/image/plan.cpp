// SPDX-License-Identifier: Apache-2.0
#include "builder/image/plan.hpp"

#include "builder/config/board.hpp"
#include "builder/util/fs.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace uhs::image {

using config::BoardModel;

BootFiles boot_files_for(BoardModel model) {
    const config::Board& board = config::board_for(model);
    return BootFiles{
        std::string(board.kernel),
        std::string(board.initramfs),
        std::string(board.default_dtb),
    };
}

nlohmann::json boot_chain_to_json(const std::vector<bootcfg::Finding>& findings) {
    nlohmann::json checks = nlohmann::json::array();
    for (const bootcfg::Finding& f : findings) {
        checks.push_back({{"node", f.node},
                          {"file", f.file},
                          {"check", f.check},
                          {"ok", f.ok},
                          {"message", f.message}});
    }
    return {{"checks", checks}};
}

util::Result<std::vector<bootcfg::Finding>> boot_chain_from_json(const std::string& text,
                                                                 const std::string& file) {
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("checks") ||
        !doc["checks"].is_array()) {
        return util::fail(util::Errc::invalid_input, file, ": not a boot-chain report");
    }
    std::vector<bootcfg::Finding> findings;
    for (const nlohmann::json& c : doc["checks"]) {
        if (!c.is_object() || !c.contains("node") || !c["node"].is_string() ||
            !c.contains("file") || !c["file"].is_string() || !c.contains("check") ||
            !c["check"].is_string() || !c.contains("ok") || !c["ok"].is_boolean() ||
            !c.contains("message") || !c["message"].is_string()) {
            return util::fail(util::Errc::invalid_input, file, ": not a boot-chain report");
        }
        findings.push_back({c["node"], c["file"], c["check"], c["ok"], c["message"]});
    }
    return findings;
}

namespace {

// The findings of the last build of this image: its own report, or the one a refused build
// left beside it.
void attach_boot_chain(BuildPlan& plan, const std::filesystem::path& out_dir) {
    const auto id = plan.inputs.image_id();
    if (!id) {
        return;
    }
    std::string state;
    std::vector<bootcfg::Finding> findings;
    for (const auto& [path, name] : {std::pair{plan.image_dir / "boot-chain.json", "passed"},
                                     std::pair{out_dir / (*id + ".boot-chain.json"), "failed"}}) {
        if (auto text = util::read_file(path)) {
            if (auto parsed = boot_chain_from_json(*text, path.string())) {
                state = name;
                findings = std::move(*parsed);
                break;
            }
        }
    }
    if (state.empty()) {
        return;
    }
    for (NodePlan& np : plan.nodes) {
        np.boot_chain_state = state;
        for (const bootcfg::Finding& f : findings) {
            if (f.node == np.node->name) {
                np.boot_chain.push_back(f);
            }
        }
        if (state == "failed" && std::all_of(np.boot_chain.begin(), np.boot_chain.end(),
                                             [](const bootcfg::Finding& f) { return f.ok; })) {
            np.boot_chain_state = "passed"; // this node was fine; another one was not
        }
    }
}

} // namespace

BootFiles boot_files_for(const config::Node& node) {
    BootFiles files = boot_files_for(node.model);
    if (!node.device_tree.empty()) {
        files.dtb = node.device_tree;
    }
    return files;
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
        np.boot = boot_files_for(node);
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
    plan.shared_artifacts.push_back("boot-chain.json");
    plan.shared_artifacts.push_back("manifest.json");
    plan.shared_artifacts.push_back("sbom.spdx.json");
    attach_boot_chain(plan, out_dir);
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
        // Before a build every check is pending: {"check": NAME, "ok": null}.
        json checks = boot_chain_to_json(np.boot_chain)["checks"];
        if (np.boot_chain_state == "pending" &&
            config::board_for(n.model).raspberry_pi_firmware()) {
            for (std::string_view check : bootcfg::boot_chain_checks()) {
                checks.push_back({{"check", check}, {"ok", nullptr}});
            }
        }
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
            {"boot_chain", {{"state", np.boot_chain_state}, {"checks", checks}}},
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
        if (np.boot_chain_state == "pending") {
            out << "    boot chain: pending (checked by 'uhs-image build')\n";
        } else {
            out << "    boot chain: " << np.boot_chain_state << "\n";
            for (const bootcfg::Finding& f : np.boot_chain) {
                if (!f.ok) {
                    out << "      " << f.check << "  " << f.file << ": " << f.message << "\n";
                }
            }
        }
    }
    return out.str();
}

} // namespace uhs::image
