// SPDX-License-Identifier: Apache-2.0
// TrueNAS request building, secrets, the publish plan, and publish's steps against an
// in-memory middleware (the Api seam).
#include "builder/config/cluster.hpp"
#include "builder/publish/client.hpp"
#include "builder/publish/publish.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fs.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <map>

#include <sys/stat.h>

// Not `using namespace uhs`: that would make `publish` both the namespace and the function.
namespace config = uhs::config;
namespace test = uhs::test;
namespace util = uhs::util;
using namespace uhs::publish;
using nlohmann::json;

TEST_CASE("truenas: endpoints are TLS only", "[truenas]") {
    auto plain = parse_endpoint("192.168.50.5");
    REQUIRE(plain);
    CHECK(plain->base_url() == "https://192.168.50.5");
    auto port = parse_endpoint("https://127.0.0.1:8443/");
    REQUIRE(port);
    CHECK(port->port == 8443);
    CHECK(port->host_header() == "127.0.0.1:8443");
    CHECK(parse_endpoint("wss://nas")->host == "nas");
    for (const char* bad :
         {"http://nas", "ws://nas:80", "ftp://nas", "nas:0", "nas:x", "nas/api"}) {
        auto refused = parse_endpoint(bad);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == util::Errc::invalid_input);
    }
    CHECK(parse_endpoint("http://nas").error().message.find("in clear") != std::string::npos);
}

TEST_CASE("truenas: JSON-RPC requests and replies", "[truenas]") {
    const json request =
        json::parse(jsonrpc_request(7, "pool.dataset.query", json::array({json::array()})));
    CHECK(request == json{{"jsonrpc", "2.0"},
                          {"id", 7},
                          {"method", "pool.dataset.query"},
                          {"params", json::array({json::array()})}});
    auto ok = jsonrpc_result(json{{"jsonrpc", "2.0"}, {"id", 7}, {"result", {1, 2}}}, "m");
    REQUIRE(ok);
    CHECK(*ok == json({1, 2}));
    // A ValidationErrors reply, as the middleware sends it.
    const json invalid = json::parse(R"({"jsonrpc":"2.0","id":3,"error":{"code":-32001,
        "message":"Method call error","data":{"error":22,"errname":"EINVAL",
        "reason":"[EINVAL] pool_dataset_create.name: Path tank/x already exists",
        "extra":[["pool_dataset_create.name","Path tank/x already exists",17]]}}})");
    auto failed = jsonrpc_result(invalid, "pool.dataset.create");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == util::Errc::failed);
    CHECK(failed.error().message.find("pool_dataset_create.name: Path tank/x already exists") !=
          std::string::npos);
    CHECK(failed.error().message.find("(EINVAL)") != std::string::npos);
    const json unauth = json::parse(R"({"jsonrpc":"2.0","id":4,"error":{"code":-32001,
        "message":"Method call error","data":{"errname":"ENOTAUTHENTICATED","reason":"Not authenticated"}}})");
    CHECK(jsonrpc_result(unauth, "x").error().code == util::Errc::refused);
    const json missing = json::parse(
        R"({"id":5,"error":{"code":-32001,"data":{"errname":"ENOENT","reason":"gone"}}})");
    CHECK(jsonrpc_result(missing, "x").error().code == util::Errc::not_found);
    CHECK_FALSE(jsonrpc_result(json{{"id", 1}}, "x"));
}

TEST_CASE("truenas: REST v2.0 routes", "[truenas]") {
    auto query =
        rest_request("pool.dataset.query",
                     json::array({json::array({json::array({"id", "=", "tank/uhs images"})})}));
    REQUIRE(query);
    CHECK(query->verb == "GET");
    CHECK(query->path == "/api/v2.0/pool/dataset?id=tank%2Fuhs%20images");
    CHECK(query->body.empty());

    auto create = rest_request("iscsi.targetextent.create", json::array({{{"target", 1}}}));
    REQUIRE(create);
    CHECK(create->verb == "POST");
    CHECK(create->path == "/api/v2.0/iscsi/targetextent");
    CHECK(json::parse(create->body) == json{{"target", 1}});

    auto update = rest_request("pool.dataset.update",
                               json::array({"tank/uhs/images/x", {{"readonly", "ON"}}}));
    REQUIRE(update);
    CHECK(update->verb == "PUT");
    CHECK(update->path == "/api/v2.0/pool/dataset/id/tank%2Fuhs%2Fimages%2Fx");

    auto numeric = rest_request("sharing.nfs.update", json::array({12, {{"ro", true}}}));
    REQUIRE(numeric);
    CHECK(numeric->path == "/api/v2.0/sharing/nfs/id/12");

    auto remove =
        rest_request("pool.dataset.delete", json::array({"tank/a", {{"recursive", true}}}));
    REQUIRE(remove);
    CHECK(remove->verb == "DELETE");
    CHECK(json::parse(remove->body) == json{{"recursive", true}});

    auto snapshot = rest_request("zfs.snapshot.create", json::array({{{"dataset", "tank/a"}}}));
    REQUIRE(snapshot);
    CHECK(snapshot->path == "/api/v2.0/zfs/snapshot");
    CHECK(rest_request("system.info", json::array())->path == "/api/v2.0/system/info");

    CHECK_FALSE(rest_request("pool.dataset.query",
                             json::array({json::array({json::array({"id", "^", "tank"})})})));
    CHECK_FALSE(rest_request("auth.login_with_api_key", json::array({"k"})));
    CHECK_FALSE(rest_request("pool.dataset.update", json::array({"only-id"})));
}

TEST_CASE("truenas: REST replies", "[truenas]") {
    CHECK(*rest_result(200, R"([{"id":"tank"}])", "m") == json::parse(R"([{"id":"tank"}])"));
    CHECK(*rest_result(200, "", "m") == json(nullptr));
    auto invalid = rest_result(
        422,
        R"({"pool_dataset_create.name":[{"message":"Path tank/x already exists","errno":17}]})",
        "pool.dataset.create");
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().message ==
          "TrueNAS: pool.dataset.create: HTTP 422: pool_dataset_create.name: Path tank/x already "
          "exists");
    CHECK(rest_result(401, "401: Unauthorized", "m").error().code == util::Errc::refused);
    CHECK(rest_result(404, R"({"message":"not here"})", "m").error().code == util::Errc::not_found);
    CHECK(rest_result(503, "<html>", "m").error().code == util::Errc::failed);
}

TEST_CASE("truenas: snapshot namespace by version", "[truenas]") {
    CHECK(snapshot_namespace_for("TrueNAS-SCALE-24.10.2.2") == "zfs.snapshot");
    CHECK(snapshot_namespace_for("25.04.2.6") == "zfs.snapshot");
    CHECK(snapshot_namespace_for("25.10.1") == "pool.snapshot");
    CHECK(snapshot_namespace_for("26.0.0-BETA.3") == "zfs.snapshot"); // "26.0" is not NN.NN
    CHECK(snapshot_namespace_for("TrueNAS-26.04.0") == "pool.snapshot");
}

TEST_CASE("truenas: secret files must be 0600 and never show their content", "[truenas]") {
    test::TestDir dir;
    const auto file = dir.path() / "key";
    REQUIRE(util::write_file_atomic(file, "s3cr3t-value\n", 0644));
    auto open = read_secret_file(file.string(), "API key");
    REQUIRE_FALSE(open);
    CHECK(open.error().code == util::Errc::invalid_input);
    CHECK(open.error().message.find("mode 0644") != std::string::npos);
    CHECK(open.error().message.find("chmod 600") != std::string::npos);
    CHECK(open.error().message.find("s3cr3t") == std::string::npos);
    REQUIRE(::chmod(file.c_str(), 0600) == 0);
    auto ok = read_secret_file(file.string(), "API key");
    REQUIRE(ok);
    CHECK(ok->reveal() == "s3cr3t-value");
    REQUIRE(util::write_file_atomic(dir.path() / "empty", "\n", 0600));
    CHECK_FALSE(read_secret_file((dir.path() / "empty").string(), "API key"));
    CHECK(read_secret_file((dir.path() / "none").string(), "API key").error().code ==
          util::Errc::not_found);
}

namespace {

config::Cluster example_cluster() {
    config::LoadOptions options{config::default_overlay_search_path()};
    auto cluster = config::load_cluster(test::source_dir() / "configs/super6c-cm5.yaml", options);
    REQUIRE(cluster);
    return std::move(*cluster);
}

// An in-memory middleware with the shapes publish reads (ids, user_properties, readonly,
// mountpoint), recording every call.
class MemoryApi final : public Api {
public:
    std::vector<std::string> calls;
    std::map<std::string, std::vector<json>> rows;
    int next_id = 1;

    util::Result<json> call(const std::string& method, const json& params) override {
        calls.push_back(method);
        const std::size_t dot = method.rfind('.');
        const std::string ns = method.substr(0, dot);
        const std::string verb = method.substr(dot + 1);
        if (method == "system.version") {
            return json("25.04.2.6");
        }
        auto& table = rows[ns];
        if (verb == "query") {
            json out = json::array();
            for (const json& row : table) {
                bool match = true;
                for (const json& f : params.empty() ? json::array() : params[0]) {
                    match = match && row.contains(f[0].get<std::string>()) &&
                            row[f[0].get<std::string>()] == f[2];
                }
                if (match) {
                    out.push_back(row);
                }
            }
            return out;
        }
        if (verb == "create") {
            json row = params[0];
            if (ns == "pool.dataset") {
                row["id"] = row["name"];
                json props = json::object();
                for (const json& p : row.value("user_properties", json::array())) {
                    props[p["key"].get<std::string>()] = {{"value", p["value"]}};
                }
                row["user_properties"] = props;
                row["readonly"] = {{"value", "OFF"}};
                row["mountpoint"] = "/mnt/" + row["name"].get<std::string>();
            } else if (ns.ends_with("snapshot")) {
                row["id"] =
                    row["dataset"].get<std::string>() + "@" + row["name"].get<std::string>();
            } else {
                row["id"] = next_id++;
            }
            table.push_back(row);
            return row;
        }
        if (verb == "update") {
            for (json& row : table) {
                if (row["id"] == params[0]) {
                    for (const auto& [k, v] : params[1].items()) {
                        row[k] = (ns == "pool.dataset" && k == "readonly") ? json{{"value", v}} : v;
                    }
                    return row;
                }
            }
            return util::fail(util::Errc::not_found, "no ", params[0].dump());
        }
        return util::fail("unexpected ", method);
    }
    Generation generation() const override { return Generation::jsonrpc; }
};

class CountingReceiver final : public RootfsReceiver {
public:
    int received = 0;
    util::Status receive(const std::filesystem::path&, const PublishPlan&) override {
        ++received;
        return {};
    }
};

bool mutates(const std::string& method) {
    return method.ends_with(".create") || method.ends_with(".update") ||
           method.ends_with(".delete");
}

} // namespace

TEST_CASE("truenas: the publish plan for the example cluster", "[truenas]") {
    const config::Cluster cluster = example_cluster();
    const PublishPlan unknown = make_publish_plan(cluster, std::nullopt, std::nullopt);
    CHECK_FALSE(unknown.image_id_known);
    CHECK(unknown.dataset == "tank/uhs/images/<image-id>");
    CHECK(to_json(unknown)["image_id"].is_null());
    CHECK(to_text(unknown).find("image-id: (unknown until the lock exists") != std::string::npos);

    const PublishPlan plan = make_publish_plan(cluster, std::string("abc123"), 3);
    CHECK(plan.dataset == "tank/uhs/images/abc123");
    CHECK(plan.snapshot == "uhs-abc123");
    CHECK(plan.share_path == "/mnt/tank/uhs/images/abc123");
    CHECK(plan.networks == std::vector<std::string>{"192.168.50.0/24"});
    REQUIRE(plan.nodes.size() == 6);
    CHECK(plan.nodes[0].zvol == "tank/uhs/state/cm5-1");
    // The names firmware/bootcfg puts on each node's command line.
    CHECK(plan.nodes[0].target == "uhs-super6c-cm5-1");
    CHECK(plan.nodes[0].extent == "uhs-super6c-cm5-1");
    CHECK(plan.nodes[0].initiator_iqn == "iqn.2025-01.arpa.home.lab:uhs-super6c-cm5-1");
    CHECK_FALSE(plan.chap);
    CHECK(to_json(plan)["nodes"][0]["auth"] == "NONE");
    CHECK(make_publish_plan(cluster, std::string("abc123"), 3, Chap::yes).chap);
    const json j = to_json(plan);
    CHECK(j["nfs_share"]["ro"] == true);
    CHECK(j["nfs_share"]["maproot_user"] == "root");
    CHECK(j["prune_keep"] == 3);
}

TEST_CASE("truenas: publish is idempotent and refuses foreign datasets", "[truenas]") {
    const config::Cluster cluster = example_cluster();
    const PublishPlan plan =
        make_publish_plan(cluster, std::string("abc123"), std::nullopt, Chap::yes);
    const Secret chap("0123456789abcd");
    PublishRequest request;
    request.rootfs_tar = "rootfs.tar";
    request.chap_secret = &chap;
    request.published_at = "2023-11-14T22:13:20.000000Z";

    MemoryApi api;
    CountingReceiver receiver;
    auto first = publish(api, receiver, plan, request);
    REQUIRE(first);
    CHECK(receiver.received == 1);
    CHECK(first->snapshot_namespace == "zfs.snapshot");
    CHECK(api.rows["iscsi.target"].size() == 6);
    CHECK(api.rows["iscsi.targetextent"].size() == 6);
    CHECK(api.rows["iscsi.auth"].size() == 1);
    CHECK(api.rows["iscsi.auth"][0]["tag"] == 1);
    CHECK(api.rows["iscsi.target"][0]["groups"][0]["authmethod"] == "CHAP");
    CHECK(api.rows["iscsi.target"][0]["auth_networks"] == json::array({"192.168.50.0/24"}));
    const json& dataset = api.rows["pool.dataset"][1];
    CHECK(dataset["id"] == "tank/uhs/images/abc123");
    CHECK(dataset["readonly"]["value"] == "ON");
    CHECK(dataset["user_properties"]["uhs:image-id"]["value"] == "abc123");
    CHECK(api.rows["zfs.snapshot"].size() == 1);

    api.calls.clear();
    auto second = publish(api, receiver, plan, request);
    REQUIRE(second);
    CHECK(receiver.received == 1);
    CHECK(std::none_of(api.calls.begin(), api.calls.end(), mutates));
    for (const PublishAction& action : second->actions) {
        CHECK(action.outcome == "unchanged");
    }

    // A changed CHAP secret is updated in place, and only that.
    const Secret other("zyxwvutsrqponm");
    request.chap_secret = &other;
    api.calls.clear();
    REQUIRE(publish(api, receiver, plan, request));
    CHECK(std::count_if(api.calls.begin(), api.calls.end(), mutates) == 1);
    CHECK(std::find(api.calls.begin(), api.calls.end(), "iscsi.auth.update") != api.calls.end());

    // Without CHAP: targets admit the node's initiator from the subnet, no auth entry.
    MemoryApi open;
    const PublishPlan no_chap = make_publish_plan(cluster, std::string("abc123"), std::nullopt);
    PublishRequest plain = request;
    plain.chap_secret = nullptr;
    REQUIRE(publish(open, receiver, no_chap, plain));
    CHECK(open.rows["iscsi.auth"].empty());
    CHECK(open.rows["iscsi.target"][0]["groups"][0]["authmethod"] == "NONE");
    CHECK(open.rows["iscsi.target"][0]["name"] == "uhs-super6c-cm5-1");

    MemoryApi foreign;
    foreign.rows["pool.dataset"].push_back({{"id", "tank/uhs/images"}, {"type", "FILESYSTEM"}});
    foreign.rows["pool.dataset"].push_back({{"id", "tank/uhs/images/abc123"},
                                            {"type", "FILESYSTEM"},
                                            {"user_properties", json::object()}});
    CountingReceiver untouched;
    auto refused = publish(foreign, untouched, plan, request);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("already exists and is not this image") !=
          std::string::npos);
    CHECK(untouched.received == 0);
    CHECK(std::none_of(foreign.calls.begin(), foreign.calls.end(), mutates));
}

namespace {

// A tar with `members` (name, content) written by libarchive (pax, as `build` writes).
void write_tar(const std::filesystem::path& file,
               const std::vector<std::pair<std::string, std::string>>& members) {
    util::ArchiveWriter writer(archive_write_new());
    archive_write_set_format_pax_restricted(writer.get());
    REQUIRE(archive_write_open_filename(writer.get(), file.c_str()) == ARCHIVE_OK);
    for (const auto& [name, content] : members) {
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), name.c_str());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        REQUIRE(archive_write_data(writer.get(), content.data(), content.size()) ==
                static_cast<la_ssize_t>(content.size()));
    }
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
}

} // namespace

TEST_CASE("truenas: the rootfs lands in MOUNT/<image-id> and nowhere else", "[truenas]") {
    test::TestDir dir;
    const config::Cluster cluster = example_cluster();
    const PublishPlan plan = make_publish_plan(cluster, std::string("img1"), std::nullopt);
    const auto mount = dir.path() / "mnt";
    MountedDatasetReceiver receiver(mount);
    const auto tar = dir.path() / "rootfs.tar";
    write_tar(tar, {{"./etc/hostname", "node\n"}, {"usr/bin/tool", "#!/bin/sh\n"}});

    // The dataset's mountpoint must already be there (publish created the dataset).
    auto missing = receiver.receive(tar, plan);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("--mount") != std::string::npos);

    std::filesystem::create_directories(mount / "img1");
    REQUIRE(receiver.receive(tar, plan));
    CHECK(*util::read_file(mount / "img1/etc/hostname") == "node\n");
    CHECK(std::filesystem::exists(mount / "img1/usr/bin/tool"));

    const auto evil = dir.path() / "evil.tar";
    write_tar(evil, {{"etc/ok", "x"}, {"../escaped", "y"}});
    auto refused = receiver.receive(evil, plan);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == util::Errc::integrity);
    CHECK_FALSE(std::filesystem::exists(mount / "escaped"));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "escaped"));
}
