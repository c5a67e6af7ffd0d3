// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/fetch_policy.hpp"
#include "builder/apt/lockfile.hpp"
#include "builder/cli/commands.hpp"
#include "builder/fetch/store.hpp"
#include "builder/image/build.hpp"
#include "builder/image/manifest.hpp"
#include "builder/image/node_trees.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "tests/unit/build_support.hpp"
#include "tests/unit/test_support.hpp"

#include <chrono>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

// A chroot runner that must never be reached (no-op builds and early errors).
class ForbiddenChroot final : public rootfs::ChrootRunner {
public:
    int calls = 0;
    util::Result<rootfs::ChrootResult> run(const rootfs::ChrootCommand&) override {
        ++calls;
        return rootfs::ChrootResult{1, "must not run"};
    }
};

class ForbiddenCommands final : public util::CommandRunner {
public:
    int calls = 0;
    util::Result<util::CommandOutput> run(const util::Command&) override {
        ++calls;
        return util::CommandOutput{1, "", "must not run"};
    }
};

// good.yaml and its keyring copied into a temp directory, with a lock beside it.
struct Fixture {
    test::TestDir dir;
    fs::path cluster_file = dir.path() / "cluster.yaml";
    config::Cluster cluster;

    Fixture() {
        fs::create_directories(dir.path() / "keyrings");
        fs::copy_file(test::data_dir() / "configs/keyrings/test-archive.gpg",
                      dir.path() / "keyrings/test-archive.gpg");
        fs::copy_file(test::data_dir() / "configs/good.yaml", cluster_file);
        cluster = load();
    }

    config::Cluster load() {
        auto loaded = config::load_cluster(cluster_file, {});
        REQUIRE(loaded);
        return *loaded;
    }

    void write_lock(const std::string& date = "2025-03-01T12:00:00Z") {
        apt::LockFile lock;
        lock.request_sha256 = apt::request_digest(cluster.image);
        lock.architecture = "arm64";
        lock.sources = {{"debian", "trixie", date, std::string(64, 'a')},
                        {"debian", "trixie-updates", "2024-01-01T00:00:00Z", std::string(64, 'b')}};
        lock.packages = {{"base-files", "13.8", "arm64", "base-files", "debian",
                          "pool/main/b/base-files/base-files_13.8_arm64.deb", 100,
                          std::string(64, 'c')}};
        REQUIRE(util::write_file_atomic(cluster_file.string() + ".lock", apt::format_lock(lock)));
    }

    image::BuildOptions options() const {
        image::BuildOptions o;
        o.out_dir = dir.path() / "out";
        o.store_root = dir.path() / "store";
        o.stage_cache = dir.path() / "stages";
        return o;
    }

    // `uhs-image build FILE --offline` into out/ from store/, as a user runs it.
    std::pair<int, std::string> build_offline() const {
        std::ostringstream out, err;
        util::Io io{out, err};
        const std::vector<std::string> args{
            "build",   cluster_file.string(),           "--out",    (dir.path() / "out").string(),
            "--store", (dir.path() / "store").string(), "--offline"};
        const int code = cli::run_uhs_image(args, io);
        return {code, err.str()};
    }
};

} // namespace

TEST_CASE_METHOD(Fixture, "the stage key follows the lock and the package list, not overlays") {
    write_lock();
    auto inputs = image::collect_image_id_inputs(cluster);
    REQUIRE(inputs);
    const std::string key = image::stage_key(*inputs, cluster);
    CHECK(key.size() == 64);

    auto other_overlay = *inputs;
    other_overlay.overlays.push_back({"extra", "/x", std::string(64, 'd')});
    auto other_nodes = cluster;
    other_nodes.nodes.pop_back();
    other_nodes.kubernetes.control_plane_endpoint = "10.1.0.12:6443";
    CHECK(image::stage_key(other_overlay, other_nodes) == key);

    auto other_lock = *inputs;
    other_lock.lock_sha256 = std::string(64, 'e');
    CHECK(image::stage_key(other_lock, cluster) != key);
    auto other_packages = cluster;
    other_packages.image.packages.push_back("hello");
    CHECK(image::stage_key(*inputs, other_packages) != key);
    auto other_kernel = cluster;
    other_kernel.image.kernel = "linux-image-rpi-2712";
    CHECK(image::stage_key(*inputs, other_kernel) != key);
    auto other_tool = *inputs;
    other_tool.tool_version = "0.0.0-other";
    CHECK(image::stage_key(other_tool, cluster) != key);
}

TEST_CASE_METHOD(Fixture, "SOURCE_DATE_EPOCH is the lock's newest source date") {
    write_lock("2026-11-21T09:15:44Z");
    auto epoch = image::lock_source_date_epoch(cluster_file.string() + ".lock");
    REQUIRE(epoch);
    CHECK(*epoch == 1795252544);
}

TEST_CASE("a complete image is one whose manifest names it and lists what is there") {
    test::TestDir dir;
    const fs::path image = dir.path() / "img";
    fs::create_directories(image / "boot");
    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "tar bytes"));
    REQUIRE(util::write_file_atomic(image / "boot/kernel_2712.img", "kernel"));
    fs::create_symlink("boot/kernel_2712.img", image / "kernel");
    image::ImageIdInputs inputs;
    inputs.lock_sha256 = std::string(64, 'a');
    inputs.config_sha256 = std::string(64, 'b');
    inputs.tool_version = "test";
    const std::string id = *inputs.image_id();
    CHECK_FALSE(image::image_is_complete(image, id)); // no manifest yet
    auto manifest = image::make_manifest(image, inputs);
    REQUIRE(manifest);
    REQUIRE(util::write_file_atomic(image / "manifest.json", manifest->dump(2)));
    CHECK(image::image_is_complete(image, id));
    CHECK_FALSE(image::image_is_complete(image, std::string(64, 'f'))); // another image

    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "truncated"));
    CHECK(image::image_is_complete(image, id)); // same size: hashes are not re-read
    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "short"));
    CHECK_FALSE(image::image_is_complete(image, id));
    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "tar bytes"));
    fs::remove(image / "kernel");
    CHECK_FALSE(image::image_is_complete(image, id));
    fs::create_symlink("boot/kernel_2712.img", image / "kernel");
    REQUIRE(util::write_file_atomic(image / "manifest.json", "{\"image_id\": "));
    CHECK_FALSE(image::image_is_complete(image, id));
}

TEST_CASE_METHOD(Fixture, "build without a lock says to run uhs-image lock") {
    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    auto built = test::start_and_build(cluster, options(), chroot, commands);
    REQUIRE_FALSE(built);
    CHECK(built.error().message == cluster_file.string() +
                                       ".lock does not exist; run `uhs-image lock " +
                                       cluster_file.string() + "` first");
    CHECK(chroot.calls == 0);
}

TEST_CASE_METHOD(Fixture, "build with a stale lock says to update it") {
    write_lock();
    cluster.image.packages.push_back("hello");
    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    auto built = test::start_and_build(cluster, options(), chroot, commands);
    REQUIRE_FALSE(built);
    CHECK(built.error().message.find("no longer matches the cluster file; run `uhs-image lock "
                                     "--update") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "build of a complete image does nothing and says so") {
    write_lock();
    auto inputs = image::collect_image_id_inputs(cluster);
    REQUIRE(inputs);
    const std::string id = *inputs->image_id();
    const fs::path image = dir.path() / "out" / id;
    fs::create_directories(image);
    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "tar"));
    REQUIRE(util::write_file_atomic(image / "manifest.json",
                                    image::make_manifest(image, *inputs)->dump(2)));
    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    const auto start = std::chrono::steady_clock::now();
    auto built = test::start_and_build(cluster, options(), chroot, commands);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(built);
    CHECK(built->up_to_date);
    CHECK(built->image_id == id);
    CHECK(built->image_dir == dir.path() / "out" / id);
    CHECK(seconds < 2.0);
    CHECK(chroot.calls == 0);
    CHECK(commands.calls == 0);
}

TEST_CASE_METHOD(Fixture, "a module swap rewrites nodes/ of the built image, nothing else") {
    write_lock();
    auto inputs = image::collect_image_id_inputs(cluster);
    REQUIRE(inputs);
    const std::string id = *inputs->image_id();
    const fs::path image = dir.path() / "out" / id;
    fs::create_directories(image / "boot");
    REQUIRE(util::write_file_atomic(image / "rootfs.tar", "tar"));
    REQUIRE(image::write_node_trees(cluster, id, image));
    REQUIRE(util::write_file_atomic(image / "manifest.json",
                                    image::make_manifest(image, *inputs)->dump(2)));
    const std::string old_dir = *cluster.nodes[0].serial_directory();
    const std::string old_mac = *cluster.nodes[0].mac_directory();
    REQUIRE(fs::is_directory(image / "nodes" / old_dir));
    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    // Unchanged identities: nothing to do.
    auto same = test::start_and_build(cluster, options(), chroot, commands);
    REQUIRE(same);
    CHECK(same->up_to_date);
    CHECK_FALSE(same->nodes_refreshed);
    // The module in n1's slot replaced (what `enroll` writes): same image, new directories.
    config::Cluster swapped = cluster;
    swapped.nodes[0].serial = "deadbeef";
    swapped.nodes[0].mac = config::MacAddress::parse("2c:cf:67:de:ad:01");
    auto built = test::start_and_build(swapped, options(), chroot, commands);
    REQUIRE(built);
    CHECK(built->up_to_date);
    CHECK(built->nodes_refreshed);
    CHECK(built->image_id == id);
    CHECK(fs::is_regular_file(image / "nodes/deadbeef/cmdline.txt"));
    CHECK(fs::is_regular_file(image / "nodes/2c-cf-67-de-ad-01/cmdline.txt"));
    CHECK(fs::is_symlink(image / "nodes/deadbeef/overlays"));
    CHECK_FALSE(fs::exists(image / "nodes" / old_dir));
    CHECK_FALSE(fs::exists(image / "nodes" / old_mac));
    CHECK(*util::read_file(image / "nodes/deadbeef/cmdline.txt") ==
          *util::read_file(image / "nodes/2c-cf-67-de-ad-01/cmdline.txt"));
    const auto listed = util::read_file(image / "manifest.json");
    REQUIRE(listed);
    CHECK(listed->find("nodes/deadbeef/cmdline.txt") != std::string::npos);
    CHECK(listed->find("nodes/" + old_dir + "/") == std::string::npos);
    CHECK(image::image_is_complete(image, id));
    const auto names = util::list_dir_sorted(image);
    REQUIRE(names);
    for (const auto& name : *names) {
        CHECK_FALSE(name.starts_with(".nodes-"));
    }
    auto again = test::start_and_build(swapped, options(), chroot, commands);
    REQUIRE(again);
    CHECK_FALSE(again->nodes_refreshed);
    // The same with a relative --out (as the CLI is usually given): the links still resolve.
    {
        const test::ScopedChdir in(dir.path());
        image::BuildOptions relative = options();
        relative.out_dir = "out";
        swapped.nodes[0].serial = "feedf00d";
        auto moved = test::start_and_build(swapped, relative, chroot, commands);
        REQUIRE(moved);
        CHECK(moved->nodes_refreshed);
    }
    CHECK(fs::is_regular_file(image / "nodes/feedf00d/config.txt"));
    CHECK(fs::is_symlink(image / "nodes/feedf00d/overlays"));
    CHECK(fs::read_symlink(image / "nodes/feedf00d/overlays") == "../../boot/overlays");
    CHECK_FALSE(fs::exists(image / "nodes/deadbeef"));
    CHECK(chroot.calls == 0);
    CHECK(commands.calls == 0);
}

TEST_CASE_METHOD(Fixture, "an offline build with packages missing from the store stops early") {
    write_lock();
    const auto [code, err] = build_offline();
    REQUIRE(code == util::k_exit_failure);
    CHECK(err.find("--offline: 1 locked packages are not in the store") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "out"));
}

TEST_CASE_METHOD(Fixture, "a store object changed on disk is removed, not installed") {
    write_lock();
    const fetch::Store store(options().store_root);
    const fs::path object = store.path_for(std::string(64, 'c'));
    fs::create_directories(object.parent_path());
    REQUIRE(util::write_file_atomic(object, "not the locked base-files"));
    const auto [code, err] = build_offline();
    REQUIRE(code == util::k_exit_failure);
    CHECK(err.find("--offline: 1 locked packages are not in the store") != std::string::npos);
    CHECK(err.find("(1 of them corrupt, removed)") != std::string::npos);
    CHECK_FALSE(fs::exists(object));
    CHECK_FALSE(fs::exists(dir.path() / "out")); // nothing was installed
}

TEST_CASE_METHOD(Fixture, "the fetch policy re-hashes the store and, offline, only reports") {
    write_lock();
    auto lock = apt::read_current_lock(cluster_file.string() + ".lock", cluster);
    REQUIRE(lock);
    const fetch::Store store(options().store_root);
    apt::FetchPolicy policy;
    policy.offline = true;
    policy.host_root = dir.path() / "no-host"; // never read: nothing is downloaded
    auto empty = apt::fill_store(cluster.image, *lock, store, policy);
    REQUIRE(empty);
    CHECK(empty->locked == 1);
    CHECK(empty->missing == 1);
    CHECK(empty->corrupt == 0);
    CHECK(empty->first_missing == "base-files 13.8");
    CHECK_FALSE(empty->downloaded);
    // Online with the package in place: no source is resolved, nothing downloaded.
    const std::string deb = "the locked base-files";
    lock->packages[0].sha256 = util::sha256_hex(deb);
    REQUIRE(store.insert_data(deb, lock->packages[0].sha256));
    policy.offline = false;
    auto full = apt::fill_store(cluster.image, *lock, store, policy);
    REQUIRE(full);
    CHECK(full->missing == 0);
    CHECK_FALSE(full->downloaded);
    // `uhs-image fetch` checks the sources all the same: a wrong --source fails there.
    policy.check_sources = true;
    policy.overrides = {{"bogus", "http://127.0.0.1:9/"}};
    auto checked = apt::fill_store(cluster.image, *lock, store, policy);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().message.find("the cluster file has no source named bogus") !=
          std::string::npos);
}

TEST_CASE_METHOD(Fixture, "build_image refuses a store without a locked package, naming it") {
    write_lock();
    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    auto built = test::start_and_build(cluster, options(), chroot, commands);
    REQUIRE_FALSE(built);
    CHECK(built.error().code == util::Errc::not_found);
    CHECK(built.error().message.find("the locked package base-files 13.8 is not in the store") !=
          std::string::npos);
    CHECK(chroot.calls == 0);
    CHECK_FALSE(fs::exists(dir.path() / "out"));
}

TEST_CASE_METHOD(Fixture, "a build removes what dead builds left in OUT, never a live build's") {
    write_lock();
    const fetch::Store store(options().store_root);
    // Not a .deb: whatever the build does after its start fails, as root or not.
    const std::string deb = "the locked base-files";
    std::string text = *util::read_file(cluster_file.string() + ".lock");
    text.replace(text.find(std::string(64, 'c')), 64, util::sha256_hex(deb));
    REQUIRE(util::write_file_atomic(cluster_file.string() + ".lock", text));
    REQUIRE(store.insert_data(deb, util::sha256_hex(deb)));

    const fs::path out = options().out_dir;
    const fs::path dead = out / ".0123abcd.partial-dead01";
    const fs::path live = out / ".0123abcd.partial-live01";
    fs::create_directories(dead / "root/usr/bin");
    fs::create_directories(live / "root");
    REQUIRE(util::write_file_atomic(dead / "root/usr/bin/half-written", "x"));
    // A build still running holds the lock on its directory.
    util::UniqueFd held(::open(live.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(::flock(held.get(), LOCK_EX | LOCK_NB) == 0);

    ForbiddenChroot chroot;
    ForbiddenCommands commands;
    const auto failed = test::start_and_build(cluster, options(), chroot, commands);
    REQUIRE_FALSE(failed);
    CHECK_FALSE(fs::exists(dead));
    CHECK(fs::exists(live / "root"));
    // Nor does the failed build leave its own.
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(out)) {
        left.push_back(entry.path().filename().string());
    }
    CHECK(left == std::vector<std::string>{".0123abcd.partial-live01"});
}
