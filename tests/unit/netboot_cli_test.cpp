// SPDX-License-Identifier: Apache-2.0
#include "builder/config/cluster.hpp"
#include "builder/util/fs.hpp"
#include "netboot/node_tree.hpp"
#include "netboot/uhs_netboot.hpp"
#include "tests/unit/test_support.hpp"

#include <sstream>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run uhs_netboot(std::vector<std::string> args) {
    std::ostringstream out, err;
    util::Io io{out, err};
    const int code = netboot::run_uhs_netboot(args, io);
    return {code, out.str(), err.str()};
}

const std::string k_good = (test::data_dir() / "configs/good.yaml").string();

// n1 of good.yaml boots from a1b2c3d4/ and 2c-cf-67-00-00-01/.
void make_image(const fs::path& images, const std::string& id) {
    for (const char* dir : {"a1b2c3d4", "2c-cf-67-00-00-01"}) {
        fs::create_directories(images / id / "nodes" / dir);
        REQUIRE(util::write_file_atomic(images / id / "nodes" / dir / "config.txt", id));
    }
    fs::create_directories(images / id / "boot");
    REQUIRE(util::write_file_atomic(images / id / "boot" / "kernel_2712.img", "k" + id));
}

} // namespace

TEST_CASE("uhs-netboot switch and rollback without a running daemon apply at once") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    const std::string state = (dir.path() / "state").string();
    make_image(images, "img-a");
    make_image(images, "img-b");

    auto sw = uhs_netboot({"switch", "n1", "img-a", "--cluster", k_good, "--images",
                           images.string(), "--state", state});
    REQUIRE(sw.code == 0);
    CHECK(sw.out == "a1b2c3d4 -> img-a\n2c-cf-67-00-00-01 -> img-a\n");
    sw = uhs_netboot({"switch", "n1", "img-b", "--cluster", k_good, "--images", images.string(),
                      "--state", state});
    REQUIRE(sw.code == 0);
    CHECK(util::read_file(fs::path(state) / "tftproot/a1b2c3d4/config.txt").value_or("") ==
          "img-b");

    auto rb = uhs_netboot({"rollback", "n1", "--cluster", k_good, "--state", state});
    REQUIRE(rb.code == 0);
    CHECK(rb.out == "a1b2c3d4 -> img-a\n2c-cf-67-00-00-01 -> img-a\n");
    CHECK(util::read_file(fs::path(state) / "tftproot/2c-cf-67-00-00-01/kernel_2712.img")
              .value_or("") == "kimg-a");

    SECTION("with a daemon holding the state directory, the switch is pending") {
        auto lock = netboot::StateLock::try_acquire(state);
        REQUIRE(lock);
        REQUIRE(*lock);
        // flock locks belong to the open file description: a second open conflicts even in
        // this process, as it would from the CLI.
        sw = uhs_netboot({"switch", "n1", "img-b", "--cluster", k_good, "--images", images.string(),
                          "--state", state});
        REQUIRE(sw.code == 0);
        CHECK(sw.out.find("pending") != std::string::npos);
        CHECK(util::read_file(fs::path(state) / "tftproot/a1b2c3d4/config.txt").value_or("") ==
              "img-a");
        const netboot::tftp::Tree tree(fs::path(state) / "tftproot");
        CHECK(tree.pending_image("a1b2c3d4") == "img-b");
        auto applied = tree.apply_pending("a1b2c3d4");
        REQUIRE(applied);
        CHECK(*applied == "img-b");
        CHECK_FALSE(tree.pending_image("a1b2c3d4"));
    }
}

TEST_CASE("uhs-netboot switch and rollback report bad input") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a");
    const std::string state = (dir.path() / "state").string();
    auto r = uhs_netboot({"switch", "nope", "img-a", "--cluster", k_good, "--images",
                          images.string(), "--state", state});
    CHECK(r.code == 2);
    CHECK(r.err.find("no node named 'nope'") != std::string::npos);
    r = uhs_netboot({"switch", "n2", "img-a", "--cluster", k_good, "--images", images.string(),
                     "--state", state});
    CHECK(r.code == 2);
    CHECK(r.err.find("neither serial nor MAC") != std::string::npos);
    r = uhs_netboot({"switch", "n1", "img-zz", "--cluster", k_good, "--images", images.string(),
                     "--state", state});
    CHECK(r.code == 1);
    r = uhs_netboot({"switch", "n1", "img-a", "--cluster", k_good});
    CHECK(r.code == 2);
    r = uhs_netboot({"rollback", "n1", "--cluster", k_good, "--state", state});
    CHECK(r.code == 1);
    CHECK(r.err.find("no previous image") != std::string::npos);
    r = uhs_netboot({"serve", k_good});
    CHECK(r.code == 2);
    CHECK(r.err.find("--images") != std::string::npos);
}

TEST_CASE("publish_cluster picks the only image, refuses to guess between several") {
    test::TestDir dir;
    const fs::path images = dir.path() / "out";
    make_image(images, "img-a");
    auto cluster = config::load_cluster(k_good, {config::default_overlay_search_path()});
    REQUIRE(cluster);
    const netboot::tftp::Tree tree(dir.path() / "root");
    std::ostringstream log;
    REQUIRE(netboot::publish_cluster(*cluster, tree, images, std::nullopt, log));
    CHECK(tree.current_image("a1b2c3d4") == "img-a");

    make_image(images, "img-b");
    const netboot::tftp::Tree fresh(dir.path() / "root2");
    auto st = netboot::publish_cluster(*cluster, fresh, images, std::nullopt, log);
    REQUIRE_FALSE(st);
    CHECK(st.error().message.find("pass --image") != std::string::npos);
    REQUIRE(netboot::publish_cluster(*cluster, fresh, images, "img-b", log));
    CHECK(fresh.current_image("2c-cf-67-00-00-01") == "img-b");
    // Published directories are kept on a later publish (a reload must not undo a switch).
    REQUIRE(netboot::publish_cluster(*cluster, fresh, images, "img-a", log));
    CHECK(fresh.current_image("2c-cf-67-00-00-01") == "img-b");
}
