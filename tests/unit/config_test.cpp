// SPDX-License-Identifier: Apache-2.0
#include "builder/config/cluster.hpp"
#include "builder/image/image_id.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

#include <fstream>

#include <sys/stat.h>
#include <utime.h>

using namespace uhs;
using namespace uhs::config;
namespace fs = std::filesystem;

namespace {

LoadOptions test_options() {
    return LoadOptions{{test::source_dir() / "overlays"}};
}

std::vector<std::string> diagnostics_of(const fs::path& file) {
    auto result = load_cluster(file, test_options());
    std::vector<std::string> lines;
    if (!result) {
        for (const auto& d : result.error()) {
            lines.push_back(d.to_string());
        }
    }
    return lines;
}

// The "# expect: " lines of a bad file, with the file name put in front as the loader does.
std::vector<std::string> expectations_of(const fs::path& file) {
    std::vector<std::string> lines;
    std::ifstream in(file);
    const std::string marker = "# expect: ";
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(marker)) {
            std::string expected = file.filename().string() + ":" + line.substr(marker.size());
            if (auto at = expected.find("@SOURCE_DIR@"); at != std::string::npos) {
                expected.replace(at, 12, test::source_dir().string());
            }
            lines.push_back(expected);
        }
    }
    return lines;
}

} // namespace

TEST_CASE("the worked example validates: six CM5 Lite nodes, one control plane") {
    test::ScopedChdir cd(test::source_dir());
    auto cluster = load_cluster("configs/super6c-cm5.yaml", test_options());
    if (!cluster) {
        for (const auto& d : cluster.error()) {
            UNSCOPED_INFO(d.to_string());
        }
    }
    REQUIRE(cluster);
    CHECK(cluster->nodes.size() == 6);
    CHECK(cluster->nodes[0].role == NodeRole::control_plane);
    CHECK(cluster->nodes[0].serial_directory() == "a1b2c301");
    CHECK(cluster->nodes[5].mac_directory() == "2c-cf-67-a1-c3-06");
    REQUIRE(cluster->image.sources.size() == 3); // debian (with backports), security, kubernetes
    CHECK(cluster->image.sources[1].suites == std::vector<std::string>{"trixie-security"});
    CHECK(cluster->image.sources[2].is_flat());
    CHECK(cluster->image.kernel == "linux-image-arm64/trixie-backports");
    CHECK(cluster->nodes[0].device_tree == "bcm2712-rpi-5-b.dtb");
    CHECK(cluster->image.overlays.size() == 6);
    CHECK(cluster->storage.state == StateStorage::iscsi);
}

TEST_CASE("defaults fill what a minimal file leaves out") {
    auto cluster = load_cluster(test::data_dir() / "configs/good.yaml", test_options());
    REQUIRE(cluster);
    CHECK(cluster->cluster.timezone == "UTC");
    REQUIRE(cluster->network.dns.size() == 1);
    CHECK(cluster->network.dns[0].to_string() == "10.1.0.1");
    CHECK(cluster->kubernetes.pod_cidr.to_string() == "10.244.0.0/16");
    CHECK(cluster->kubernetes.service_cidr.to_string() == "10.96.0.0/12");
    CHECK(cluster->storage.truenas.nfs_version == 3);
    CHECK(cluster->image.variant == Variant::minbase);
    CHECK(cluster->image.sources[0].keyring.is_absolute());
    CHECK_FALSE(cluster->nodes[1].serial.has_value());
    CHECK_FALSE(cluster->nodes[1].serial_directory().has_value());
}

TEST_CASE("PKG/SUITE and image.pins are read as apt takes them") {
    std::string text = *util::read_file(test::data_dir() / "configs/good.yaml");
    text.replace(text.find("  kernel: linux-image-arm64"),
                 std::string("  kernel: linux-image-arm64").size(),
                 "  kernel: linux-image-arm64/trixie-backports\n"
                 "  pins:\n"
                 "    - packages: \"openssh-*\"\n"
                 "      suite: trixie-backports\n"
                 "      priority: 990\n"
                 "    - packages: [\"*\"]\n"
                 "      suite: trixie-security\n"
                 "      priority: -10");
    auto cluster = parse_cluster(text, test::data_dir() / "configs/good.yaml", test_options());
    REQUIRE(cluster);
    CHECK(cluster->image.kernel == "linux-image-arm64/trixie-backports");
    CHECK(cluster->image.kernel_location.line > 0);
    auto request = parse_package_request(cluster->image.kernel);
    CHECK(request.name == "linux-image-arm64");
    CHECK(request.suite == "trixie-backports");
    CHECK(parse_package_request("containerd").suite.empty());
    REQUIRE(cluster->image.pins.size() == 2);
    CHECK(cluster->image.pins[0].packages == std::vector<std::string>{"openssh-*"});
    CHECK(cluster->image.pins[0].suite == "trixie-backports");
    CHECK(cluster->image.pins[0].priority == 990);
    CHECK(cluster->image.pins[1].packages == std::vector<std::string>{"*"});
    CHECK(cluster->image.pins[1].priority == -10);
    CHECK(cluster->image.pins[1].suite_location.line > cluster->image.pins[0].suite_location.line);
}

TEST_CASE("every bad file reports exactly its expected errors") {
    const fs::path dir = test::data_dir() / "configs/bad";
    test::ScopedChdir cd(dir);
    std::size_t files = 0;
    const auto names = util::list_dir_sorted(dir);
    REQUIRE(names);
    for (const std::string& name : *names) {
        if (!name.ends_with(".yaml")) {
            continue;
        }
        ++files;
        INFO(name);
        const auto expected = expectations_of(name);
        REQUIRE_FALSE(expected.empty());
        CHECK(diagnostics_of(name) == expected);
    }
    CHECK(files >= 25);
}

TEST_CASE("a missing cluster file is one clear error") {
    const auto lines = diagnostics_of("/nonexistent/cluster.yaml");
    CHECK(lines == std::vector<std::string>{"/nonexistent/cluster.yaml: error: no such file"});
}

TEST_CASE("tree_sha256 sees names, contents, the executable bit and links, not mtimes or umask") {
    test::TestDir dir;
    const fs::path root = dir.path() / "overlay";
    fs::create_directories(root / "etc");
    REQUIRE(util::write_file_atomic(root / "etc/a.conf", "a=1\n"));
    const auto first = image::tree_sha256(root);
    REQUIRE(first);

    struct utimbuf times {
        1000, 1000
    };
    ::utime((root / "etc/a.conf").c_str(), &times);
    CHECK(*image::tree_sha256(root) == *first);

    REQUIRE(util::write_file_atomic(root / "etc/a.conf", "a=2\n"));
    const auto changed = *image::tree_sha256(root);
    CHECK(changed != *first);

    // A umask difference is not an overlay change; the executable bit is.
    ::chmod((root / "etc/a.conf").c_str(), 0600);
    CHECK(*image::tree_sha256(root) == changed);
    ::chmod((root / "etc/a.conf").c_str(), 0700);
    CHECK(*image::tree_sha256(root) != changed);
    ::chmod((root / "etc/a.conf").c_str(), 0644);

    fs::create_symlink("a.conf", root / "etc/b.conf");
    CHECK(*image::tree_sha256(root) != changed);
}

TEST_CASE("the image-id needs the lock and ignores per-node identity") {
    test::TestDir dir;
    const std::string keyring = (test::data_dir() / "configs/keyrings/test-archive.gpg").string();
    std::string text = *util::read_file(test::data_dir() / "configs/good.yaml");
    text.replace(text.find("keyrings/test-archive.gpg"), 25, keyring);
    const fs::path file = dir.path() / "cluster.yaml";
    REQUIRE(util::write_file_atomic(file, text));

    auto inputs = [&] {
        return *image::collect_image_id_inputs(*load_cluster(file, test_options()));
    };
    CHECK_FALSE(inputs().image_id().has_value());

    REQUIRE(util::write_file_atomic(image::lock_path_for(file), "lock v1\n"));
    const auto id = inputs().image_id();
    REQUIRE(id);
    CHECK(id->size() == 64);

    // Enrolling a node (serial, MAC) must not change the shared image.
    std::string enrolled = text;
    enrolled.replace(enrolled.find("    ip: 10.1.0.12"), 17,
                     "    serial: \"deadbeef\"\n    ip: 10.1.0.12");
    REQUIRE(util::write_file_atomic(file, enrolled));
    CHECK(inputs().image_id() == id);

    // Anything that reaches the image does.
    std::string other = text;
    other.replace(other.find("[containerd]"), 12, "[containerd, runc]");
    REQUIRE(util::write_file_atomic(file, other));
    CHECK(inputs().image_id() != id);

    REQUIRE(util::write_file_atomic(file, text));
    REQUIRE(util::write_file_atomic(image::lock_path_for(file), "lock v2\n"));
    CHECK(inputs().image_id() != id);
}

TEST_CASE("the boot service loads a cluster file without opening its keyrings") {
    test::TestDir dir;
    std::string text = *util::read_file(test::data_dir() / "configs/good.yaml");
    const fs::path file = dir.path() / "cluster.yaml";
    // good.yaml's keyrings are relative to tests/configs; here they do not exist at all.
    REQUIRE(util::write_file_atomic(file, text));
    auto checked = load_cluster(file, test_options());
    CHECK_FALSE(checked);
    LoadOptions unchecked = test_options();
    unchecked.check_keyrings = CheckKeyrings::no;
    auto loaded = load_cluster(file, unchecked);
    REQUIRE(loaded);
    CHECK_FALSE(loaded->image.sources.empty());
}

TEST_CASE("a cluster file that is a FIFO, a device or huge is refused, never waited on or read") {
    test::TestDir dir;
    const fs::path fifo = dir.path() / "cluster.yaml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto lines = diagnostics_of(fifo);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("is a FIFO, not a regular file") != std::string::npos);
    CHECK(diagnostics_of("/dev/zero").at(0).find("is a character device") != std::string::npos);
    const fs::path huge = dir.path() / "huge.yaml";
    REQUIRE(util::write_file_atomic(huge, "name: \"" + std::string(2u << 20, 'x') + "\"\n"));
    CHECK(diagnostics_of(huge).at(0).find("over the limit of 1048576 bytes") != std::string::npos);
}
