// SPDX-License-Identifier: Apache-2.0
// publish's steps against the middleware: the image's dataset, snapshot and NFS share, each
// node's zvol and iSCSI objects, and pruning. Each step asks first (Steps::ensure), so a re-run
// finishes what an interrupted one began and otherwise changes nothing.
#include "builder/publish/publish.hpp"

#include <algorithm>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::fail;

namespace {

// The value of a ZFS property as pool.dataset.query reports it: {"value": "ON", ...}.
std::optional<std::string> property_value(const json& dataset, std::string_view name) {
    auto it = dataset.find(std::string(name));
    if (it == dataset.end()) {
        return std::nullopt;
    }
    if (it->is_object() && it->contains("value") && (*it)["value"].is_string()) {
        return (*it)["value"].get<std::string>();
    }
    if (it->is_string()) {
        return it->get<std::string>();
    }
    return std::nullopt;
}

std::optional<std::string> user_property(const json& dataset, std::string_view name) {
    auto props = dataset.find("user_properties");
    if (props == dataset.end() || !props->is_object()) {
        return std::nullopt;
    }
    return property_value(*props, name);
}

class Steps {
public:
    Steps(Api& api, PublishReport& report, std::ostream* progress)
        : m_api(api), m_report(report), m_progress(progress) {}

    util::Result<json> query_all(const std::string& ns, json filters) {
        json rows = UHS_TRY(m_api.call(ns + ".query", json::array({std::move(filters)})));
        if (!rows.is_array()) {
            return fail(Errc::integrity, "TrueNAS: ", ns, ".query did not return a list");
        }
        return rows;
    }

    util::Result<std::optional<json>> query_one(const std::string& ns, json filters) {
        const json rows = UHS_TRY(query_all(ns, std::move(filters)));
        if (rows.empty()) {
            return std::optional<json>();
        }
        return std::optional<json>(rows[0]);
    }

    util::Result<json> create(const std::string& ns, json body) {
        return m_api.call(ns + ".create", json::array({std::move(body)}));
    }

    util::Result<json> update(const std::string& ns, const json& id, json body) {
        return m_api.call(ns + ".update", json::array({id, std::move(body)}));
    }

    util::Result<json> call(const std::string& method, const json& params) {
        return m_api.call(method, params);
    }

    void record(std::string step, std::string object, std::string outcome) {
        if (m_progress != nullptr) {
            *m_progress << "  " << outcome << ' ' << step << ' ' << object << std::endl;
        }
        m_report.actions.push_back({std::move(step), std::move(object), std::move(outcome)});
    }

    // A FILESYSTEM dataset that only needs to exist (DATASET/images, DATASET/state).
    util::Status ensure_parent(const std::string& name) {
        auto existing =
            UHS_TRY(query_one("pool.dataset", json::array({json::array({"id", "=", name})})));
        if (existing) {
            if (existing->value("type", std::string("FILESYSTEM")) != "FILESYSTEM") {
                return fail(Errc::failed, "TrueNAS: ", name, " exists and is not a filesystem");
            }
            record("parent", name, "unchanged");
            return {};
        }
        UHS_TRY(create("pool.dataset",
                       {{"name", name}, {"type", "FILESYSTEM"}, {"create_ancestors", true}}));
        record("parent", name, "created");
        return {};
    }

    // Creates (or finds) an object by a unique field; updates the fields in `desired` that
    // differ. Returns its id.
    util::Result<json> ensure(const std::string& step, const std::string& ns, const json& filters,
                              const std::string& label, const json& desired,
                              const json& create_only = json::object()) {
        auto existing = UHS_TRY(query_one(ns, filters));
        if (!existing) {
            json body = desired;
            body.update(create_only);
            const json created = UHS_TRY(create(ns, body));
            record(step, label, "created");
            return created.is_object() && created.contains("id") ? created["id"] : created;
        }
        json changes = json::object();
        for (const auto& [key, value] : desired.items()) {
            if (!existing->contains(key) || (*existing)[key] != value) {
                changes[key] = value;
            }
        }
        if (changes.empty()) {
            record(step, label, "unchanged");
        } else {
            UHS_TRY(update(ns, (*existing)["id"], changes));
            record(step, label, "updated");
        }
        return (*existing)["id"];
    }

private:
    Api& m_api;
    PublishReport& m_report;
    std::ostream* m_progress;
};

util::Status publish_image(Steps& steps, RootfsReceiver& receiver, const PublishPlan& plan,
                           const PublishRequest& request, const std::string& snapshot_ns) {
    UHS_CHECK(steps.ensure_parent(plan.images_parent));
    auto dataset = UHS_TRY(
        steps.query_one("pool.dataset", json::array({json::array({"id", "=", plan.dataset})})));
    if (dataset) {
        const auto owner = user_property(*dataset, k_image_property);
        if (owner != plan.image_id) {
            return fail(Errc::failed, "TrueNAS: dataset ", plan.dataset,
                        " already exists and is not this image (",
                        owner ? std::string(k_image_property) + " is '" + *owner + "'"
                              : "it has no " + std::string(k_image_property) + " property",
                        "); uhs does not write into it: remove it, or choose another "
                        "storage.truenas.dataset");
        }
        steps.record("dataset", plan.dataset, "unchanged");
    } else {
        const json properties =
            json::array({{{"key", k_image_property}, {"value", plan.image_id}},
                         {{"key", k_published_property}, {"value", request.published_at}}});
        UHS_TRY(steps.create("pool.dataset", {{"name", plan.dataset},
                                              {"type", "FILESYSTEM"},
                                              {"atime", "OFF"},
                                              {"user_properties", properties}}));
        steps.record("dataset", plan.dataset, "created");
        dataset = UHS_TRY(
            steps.query_one("pool.dataset", json::array({json::array({"id", "=", plan.dataset})})));
        if (!dataset) {
            return fail(Errc::integrity, "TrueNAS: ", plan.dataset,
                        " is missing after its creation");
        }
    }

    const std::string snapshot_id = plan.dataset + "@" + plan.snapshot;
    auto snapshot =
        UHS_TRY(steps.query_one(snapshot_ns, json::array({json::array({"id", "=", snapshot_id})})));
    if (snapshot) {
        // The snapshot is taken last, after readonly=ON: its presence means the rootfs is in.
        steps.record("receive", plan.dataset, "unchanged");
        if (property_value(*dataset, "readonly") != "ON") {
            UHS_TRY(steps.update("pool.dataset", plan.dataset, {{"readonly", "ON"}}));
            steps.record("readonly", plan.dataset, "updated");
        } else {
            steps.record("readonly", plan.dataset, "unchanged");
        }
        steps.record("snapshot", snapshot_id, "unchanged");
    } else {
        if (property_value(*dataset, "readonly") == "ON") {
            // An earlier run stopped between readonly and snapshot: receive again to be sure.
            UHS_TRY(steps.update("pool.dataset", plan.dataset, {{"readonly", "OFF"}}));
        }
        if (request.progress != nullptr) {
            *request.progress << "  extracting " << request.rootfs_tar.string() << std::endl;
        }
        UHS_CHECK(receiver.receive(request.rootfs_tar, plan));
        steps.record("receive", plan.dataset, "created");
        UHS_TRY(steps.update("pool.dataset", plan.dataset, {{"readonly", "ON"}}));
        steps.record("readonly", plan.dataset, "updated");
        UHS_TRY(steps.create(snapshot_ns, {{"dataset", plan.dataset}, {"name", plan.snapshot}}));
        steps.record("snapshot", snapshot_id, "created");
    }
    // Nodes mount /mnt/<dataset> (firmware/bootcfg): a dataset mounted elsewhere would be
    // shared at a path no node asks for.
    const std::string share_path = plan.share_path;
    if (auto mp = dataset->find("mountpoint");
        mp != dataset->end() && mp->is_string() && mp->get<std::string>() != share_path) {
        return fail(Errc::failed, "TrueNAS: ", plan.dataset, " is mounted at ",
                    mp->get<std::string>(), ", but the nodes mount ", share_path,
                    ": reset its mountpoint to the default");
    }
    UHS_TRY(steps.ensure("nfs-share", "sharing.nfs",
                         json::array({json::array({"path", "=", share_path})}), share_path,
                         {{"path", share_path},
                          {"comment", "uhs image " + plan.image_id},
                          {"ro", true},
                          {"maproot_user", "root"},
                          {"maproot_group", "root"},
                          {"networks", plan.networks},
                          {"enabled", true}}));
    return {};
}

util::Status publish_state(Steps& steps, const PublishPlan& plan, const Secret* chap) {
    UHS_CHECK(steps.ensure_parent(plan.state_parent));

    // Any portal will do; create one listening everywhere when the NAS has none.
    auto portal = UHS_TRY(steps.query_one("iscsi.portal", json::array()));
    json portal_id;
    if (portal) {
        portal_id = (*portal)["id"];
        steps.record("portal", std::to_string(portal_id.get<long>()), "unchanged");
    } else {
        const json created = UHS_TRY(steps.create(
            "iscsi.portal", {{"listen", json::array({{{"ip", "0.0.0.0"}}})}, {"comment", "uhs"}}));
        portal_id = created["id"];
        steps.record("portal", "0.0.0.0", "created");
    }

    // With --chap-secret-file: one CHAP entry for the cluster (a tag groups credentials in
    // TrueNAS). The secret is compared and sent, never printed.
    json auth_tag;
    if (chap != nullptr) {
        auto auth = UHS_TRY(steps.query_one(
            "iscsi.auth", json::array({json::array({"user", "=", plan.chap_user})})));
        if (auth) {
            auth_tag = (*auth)["tag"];
            if ((*auth).value("secret", std::string()) != chap->reveal()) {
                UHS_TRY(steps.update("iscsi.auth", (*auth)["id"], {{"secret", chap->reveal()}}));
                steps.record("chap", plan.chap_user, "updated");
            } else {
                steps.record("chap", plan.chap_user, "unchanged");
            }
        } else {
            // A new tag, one above the highest in use.
            const json all = UHS_TRY(steps.query_all("iscsi.auth", json::array()));
            long tag = 1;
            for (const json& row : all) {
                if (row.contains("tag") && row["tag"].is_number_integer()) {
                    tag = std::max(tag, row["tag"].get<long>() + 1);
                }
            }
            UHS_TRY(
                steps.create("iscsi.auth",
                             {{"tag", tag}, {"user", plan.chap_user}, {"secret", chap->reveal()}}));
            steps.record("chap", plan.chap_user, "created");
            auth_tag = tag;
        }
    }

    for (const NodeStatePlan& np : plan.nodes) {
        auto zvol = UHS_TRY(
            steps.query_one("pool.dataset", json::array({json::array({"id", "=", np.zvol})})));
        if (zvol) {
            if (zvol->value("type", std::string()) != "VOLUME") {
                return fail(Errc::failed, "TrueNAS: ", np.zvol,
                            " exists and is not a zvol; uhs does not touch it");
            }
            steps.record("zvol", np.zvol, "unchanged");
        } else {
            UHS_TRY(steps.create("pool.dataset", {{"name", np.zvol},
                                                  {"type", "VOLUME"},
                                                  {"volsize", k_state_zvol_bytes},
                                                  {"volblocksize", "16K"},
                                                  {"sparse", true}}));
            steps.record("zvol", np.zvol, "created");
        }
        const json initiator_id = UHS_TRY(steps.ensure(
            "initiator", "iscsi.initiator",
            json::array({json::array({"comment", "=", np.initiator_comment})}), np.initiator_iqn,
            {{"initiators", json::array({np.initiator_iqn})}, {"comment", np.initiator_comment}}));
        const json extent_id = UHS_TRY(steps.ensure(
            "extent", "iscsi.extent", json::array({json::array({"name", "=", np.extent})}),
            np.extent, {{"name", np.extent}, {"type", "DISK"}, {"disk", "zvol/" + np.zvol}},
            {{"blocksize", 512}, {"rpm", "SSD"}, {"comment", "uhs state " + np.node}}));
        const json target_id = UHS_TRY(steps.ensure(
            "target", "iscsi.target", json::array({json::array({"name", "=", np.target})}),
            np.target,
            {{"name", np.target},
             {"groups", json::array({{{"portal", portal_id},
                                      {"initiator", initiator_id},
                                      {"authmethod", chap != nullptr ? "CHAP" : "NONE"},
                                      {"auth", auth_tag}}})},
             {"auth_networks", plan.networks}},
            {{"mode", "ISCSI"}}));
        UHS_TRY(steps.ensure("target-extent", "iscsi.targetextent",
                             json::array({json::array({"target", "=", target_id}),
                                          json::array({"extent", "=", extent_id})}),
                             np.target + " lun 0", {{"target", target_id}, {"extent", extent_id}},
                             {{"lunid", 0}}));
    }
    return {};
}

util::Status prune_images(Steps& steps, const PublishPlan& plan,
                          const std::set<std::string>& referenced) {
    const int keep = *plan.prune_keep;
    auto parent = UHS_TRY(steps.query_one(
        "pool.dataset", json::array({json::array({"id", "=", plan.images_parent})})));
    if (!parent) {
        return {};
    }
    struct Candidate {
        std::string image_id;
        std::string dataset;
        std::string mountpoint;
        std::string published; // UTC, fixed-width: sorts as text
    };
    std::vector<Candidate> candidates;
    for (const json& child : parent->value("children", json::array())) {
        const std::string name = child.value("id", child.value("name", std::string()));
        const auto owner = user_property(child, k_image_property);
        // Only datasets publish made for the image they are named after.
        if (!owner || name != plan.images_parent + "/" + *owner) {
            continue;
        }
        Candidate c{*owner, name, child.value("mountpoint", "/mnt/" + name), {}};
        const auto published = user_property(child, k_published_property);
        if (published) {
            c.published = *published;
        }
        candidates.push_back(std::move(c));
    }
    std::ranges::sort(candidates, [](const Candidate& a, const Candidate& b) {
        return a.published != b.published ? a.published > b.published : a.image_id < b.image_id;
    });
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const Candidate& c = candidates[i];
        if (static_cast<int>(i) < keep || referenced.contains(c.image_id) ||
            c.image_id == plan.image_id) {
            steps.record("prune", c.dataset, "kept");
            continue;
        }
        auto share = UHS_TRY(steps.query_one(
            "sharing.nfs", json::array({json::array({"path", "=", c.mountpoint})})));
        if (share) {
            UHS_TRY(steps.call("sharing.nfs.delete", json::array({(*share)["id"]})));
        }
        UHS_TRY(steps.call("pool.dataset.delete", json::array({c.dataset, {{"recursive", true}}})));
        steps.record("prune", c.dataset, "deleted");
    }
    return {};
}

} // namespace

util::Result<PublishReport> publish(Api& api, RootfsReceiver& receiver, const PublishPlan& plan,
                                    const PublishRequest& request) {
    PublishReport report;
    report.generation = api.generation();
    report.snapshot_namespace = "zfs.snapshot";
    if (api.generation() == Generation::jsonrpc) {
        const json version = UHS_TRY(api.call("system.version", json::array()));
        report.snapshot_namespace =
            snapshot_namespace_for(version.is_string() ? version.get<std::string>() : "");
    }
    Steps steps(api, report, request.progress);
    UHS_CHECK(publish_image(steps, receiver, plan, request, report.snapshot_namespace));
    if (plan.iscsi) {
        if (plan.chap && request.chap_secret == nullptr) {
            return fail(Errc::invalid_input, "the plan uses CHAP: a CHAP secret is needed");
        }
        UHS_CHECK(publish_state(steps, plan, plan.chap ? request.chap_secret : nullptr));
    }
    if (plan.prune_keep) {
        UHS_CHECK(prune_images(steps, plan, request.referenced));
    }
    return report;
}

} // namespace uhs::publish
