// SPDX-License-Identifier: Apache-2.0
#include "builder/image/node_trees.hpp"
#include "builder/util/fs.hpp"
#include "firmware/bootcfg/node_boot.hpp"
#include "tests/unit/test_support.hpp"

using namespace uhs;
namespace fs = std::filesystem;

TEST_CASE("node trees hold each enrolled node's config and links to the shared boot files") {
    auto cluster = config::load_cluster(test::data_dir() / "configs/good.yaml",
                                        {{test::source_dir() / "overlays"}});
    REQUIRE(cluster);
    test::TestDir dir;
    REQUIRE(image::write_node_trees(*cluster, "feed", dir.path()));

    // n1 has a serial and a MAC; n2 has neither and gets no tree.
    CHECK(*util::list_dir_sorted(dir.path() / "nodes") ==
          std::vector<std::string>{"2c-cf-67-00-00-01", "a1b2c3d4"});
    for (const char* name : {"a1b2c3d4", "2c-cf-67-00-00-01"}) {
        const fs::path node = dir.path() / "nodes" / name;
        CHECK(*util::list_dir_sorted(node) ==
              std::vector<std::string>{"bcm2712-rpi-cm5l-cm5io.dtb", "cmdline.txt", "config.txt",
                                       "initramfs_2712", "kernel_2712.img", "overlays"});
        CHECK(*util::read_file(node / "cmdline.txt") ==
              bootcfg::render_cmdline(*cluster, cluster->nodes[0], "feed"));
        CHECK(fs::read_symlink(node / "kernel_2712.img") == "../../boot/kernel_2712.img");
        CHECK(fs::read_symlink(node / "overlays") == "../../boot/overlays");
    }
}
