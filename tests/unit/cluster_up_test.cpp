// SPDX-License-Identifier: Apache-2.0
// `cluster up`: the kubeadm configuration it renders, the ssh command line, and the
// orchestration's decisions against a fake NodeShell that plays kubeadm's nodes.
#include "builder/cli/commands.hpp"
#include "builder/cluster/cluster_up.hpp"
#include "builder/cluster/kubeadm_config.hpp"
#include "builder/cluster/node_shell.hpp"
#include "test_support.hpp"

#include <map>
#include <set>
#include <sstream>

#include <sys/stat.h>

using namespace uhs;
using namespace uhs::cluster;

namespace {

config::Cluster example() {
    auto cluster = config::load_cluster(test::source_dir() / "configs/super6c-cm5.yaml",
                                        config::LoadOptions{{test::source_dir() / "overlays"}});
    REQUIRE(cluster);
    return *cluster;
}

const config::Node& node_named(const config::Cluster& cluster, std::string_view name) {
    for (const auto& node : cluster.nodes) {
        if (node.name == name) {
            return node;
        }
    }
    FAIL("no node " << name);
    return cluster.nodes.front();
}

constexpr std::string_view k_token = "abcdef.0123456789abcdef";
const std::string k_hash = "sha256:" + std::string(64, 'a');
const std::string k_certificate_key = std::string(32, 'c') + std::string(32, '4');

// Plays the nodes: what /etc/kubernetes holds on each, which nodes the API server knows, and
// every script it was asked to run (with its standard input).
class FakeNodes final : public NodeShell {
public:
    struct Node {
        bool kubelet_conf = false;
        bool admin_conf = false;
        bool unreachable = false;
        bool validate_fails = false;
        std::optional<std::string> fsync_p99_ms;
    };
    struct Call {
        std::string node;
        std::string script;
        std::string stdin_data;
    };

    std::map<std::string, Node> nodes;
    std::set<std::string> members;
    std::vector<Call> calls;

    util::Result<util::CommandOutput> run(const config::Node& target,
                                          const NodeCommand& command) override {
        calls.push_back({target.name, command.script, command.stdin_data});
        Node& node = nodes[target.name];
        if (node.unreachable) {
            return util::fail(util::Errc::refused, "ssh root@", target.ip.to_string(),
                              " failed: Host key verification failed.");
        }
        const std::string& s = command.script;
        util::CommandOutput out;
        auto has = [&](std::string_view what) {
            return s.find(what) != std::string::npos;
        };
        if (has("for f in kubelet.conf admin.conf")) {
            out.out = std::string("kubelet.conf=") + (node.kubelet_conf ? "yes" : "no") +
                      "\nadmin.conf=" + (node.admin_conf ? "yes" : "no") + "\n";
            if (node.fsync_p99_ms) {
                out.out += "etcd-fsync-p99-ms=" + *node.fsync_p99_ms + "\n";
            }
        } else if (has("kubeadm config validate") && !has("kubeadm init --config") &&
                   !has("kubeadm join")) {
            if (node.validate_fails) {
                out.exit_code = 1;
                out.err = "unknown field \"bogus\"";
            }
        } else if (has("kubeadm init --config")) {
            node.kubelet_conf = node.admin_conf = true;
            members.insert(target.name);
        } else if (has("kubeadm join --config")) {
            node.kubelet_conf = true;
            if (command.stdin_data.find("controlPlane:") != std::string::npos) {
                node.admin_conf = true;
            }
            members.insert(target.name);
        } else if (has("get nodes -o name")) {
            for (const auto& name : members) {
                out.out += "node/" + name + "\n";
            }
        } else if (has("token create")) {
            out.out = "kubeadm join 192.168.50.11:6443 --token " + std::string(k_token) +
                      " --discovery-token-ca-cert-hash " + k_hash + " \n";
        } else if (has("certs certificate-key")) {
            out.out = k_certificate_key + "\n";
        } else if (has("upload-certs")) {
            out.out = "[upload-certs] Using certificate key:\n" + k_certificate_key + "\n";
        } else if (has("cat /etc/kubernetes/admin.conf")) {
            out.out = "apiVersion: v1\nkind: Config\n# admin of " + target.name + "\n";
        } else {
            out.exit_code = 127;
            out.err = "fake: unexpected script";
        }
        return out;
    }

    // The steps that ran, as "node: what" for the scripts that change something.
    std::vector<std::string> changes() const {
        std::vector<std::string> result;
        for (const auto& call : calls) {
            for (std::string_view what :
                 {"kubeadm init --config", "kubeadm join --config", "token create",
                  "certs certificate-key", "upload-certs --upload-certs"}) {
                if (call.script.find(what) != std::string::npos) {
                    result.push_back(call.node + ": " + std::string(what));
                }
            }
        }
        return result;
    }
};

UpOptions options_in(const test::TestDir& dir) {
    UpOptions options;
    options.kubernetes_version = "v1.31.2";
    options.kubeconfig = dir.path() / "super6c.kubeconfig";
    return options;
}

} // namespace

TEST_CASE("init config of the example cluster", "[cluster]") {
    const auto cluster = example();
    CHECK(render_init_config(cluster, node_named(cluster, "cm5-1"), "v1.31.2") ==
          "# Rendered by `uhs-image cluster up` from the cluster file.\n"
          "apiVersion: kubeadm.k8s.io/v1beta4\n"
          "kind: InitConfiguration\n"
          "nodeRegistration:\n"
          "  name: cm5-1\n"
          "  criSocket: unix:///run/containerd/containerd.sock\n"
          "  kubeletExtraArgs:\n"
          "    - name: node-ip\n"
          "      value: 192.168.50.11\n"
          "localAPIEndpoint:\n"
          "  advertiseAddress: 192.168.50.11\n"
          "  bindPort: 6443\n"
          "---\n"
          "apiVersion: kubeadm.k8s.io/v1beta4\n"
          "kind: ClusterConfiguration\n"
          "clusterName: super6c\n"
          "kubernetesVersion: v1.31.2\n"
          "controlPlaneEndpoint: 192.168.50.11:6443\n"
          "networking:\n"
          "  dnsDomain: cluster.local\n"
          "  podSubnet: 10.244.0.0/16\n"
          "  serviceSubnet: 10.96.0.0/12\n"
          "---\n"
          "apiVersion: kubelet.config.k8s.io/v1beta1\n"
          "kind: KubeletConfiguration\n"
          "cgroupDriver: systemd\n");
}

TEST_CASE("join configs of the example cluster: worker and control plane", "[cluster]") {
    auto cluster = example();
    JoinCredentials credentials{std::string(k_token), k_hash, std::nullopt};
    const std::string worker =
        render_join_config(cluster, node_named(cluster, "cm5-2"), credentials);
    CHECK(worker == "# Rendered by `uhs-image cluster up` from the cluster file.\n"
                    "apiVersion: kubeadm.k8s.io/v1beta4\n"
                    "kind: JoinConfiguration\n"
                    "nodeRegistration:\n"
                    "  name: cm5-2\n"
                    "  criSocket: unix:///run/containerd/containerd.sock\n"
                    "  kubeletExtraArgs:\n"
                    "    - name: node-ip\n"
                    "      value: 192.168.50.12\n"
                    "discovery:\n"
                    "  bootstrapToken:\n"
                    "    apiServerEndpoint: 192.168.50.11:6443\n"
                    "    token: abcdef.0123456789abcdef\n"
                    "    caCertHashes:\n"
                    "      - " +
                        k_hash + "\n");
    cluster.nodes[2].role = config::NodeRole::control_plane;
    credentials.certificate_key = k_certificate_key;
    const std::string control_plane = render_join_config(cluster, cluster.nodes[2], credentials);
    CHECK(control_plane.ends_with("controlPlane:\n"
                                  "  localAPIEndpoint:\n"
                                  "    advertiseAddress: 192.168.50.13\n"
                                  "    bindPort: 6443\n"
                                  "  certificateKey: " +
                                  k_certificate_key + "\n"));
    // Same inputs, same bytes.
    CHECK(render_join_config(cluster, cluster.nodes[2], credentials) == control_plane);
}

TEST_CASE("the API server endpoint gets kubeadm's port when it names none", "[cluster]") {
    config::Kubernetes kubernetes;
    kubernetes.control_plane_endpoint = "k8s.lab.home.arpa";
    CHECK(api_server_endpoint(kubernetes) == "k8s.lab.home.arpa:6443");
    kubernetes.control_plane_endpoint = "10.0.0.1:8443";
    CHECK(api_server_endpoint(kubernetes) == "10.0.0.1:8443");
}

TEST_CASE("the Kubernetes version comes from the lock's kubeadm", "[cluster]") {
    apt::LockFile lock;
    lock.packages.push_back({.name = "kubeadm", .version = "1.31.2-1.1"});
    config::Kubernetes kubernetes;
    kubernetes.version = "1.31";
    CHECK(kubernetes_version_from_lock(lock, kubernetes).value() == "v1.31.2");
    kubernetes.version = "1.31.2";
    CHECK(kubernetes_version_from_lock(lock, kubernetes).value() == "v1.31.2");
    kubernetes.version = "1.3";
    auto wrong = kubernetes_version_from_lock(lock, kubernetes);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message.find("lock --update") != std::string::npos);
    kubernetes.version = "1.32";
    CHECK_FALSE(kubernetes_version_from_lock(lock, kubernetes));
    lock.packages[0].version = "1:1.32.0-1.1";
    CHECK(kubernetes_version_from_lock(lock, kubernetes).value() == "v1.32.0");
    lock.packages[0].name = "kubectl";
    auto missing = kubernetes_version_from_lock(lock, kubernetes);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == util::Errc::invalid_input);
}

TEST_CASE("join command and certificate key parsing", "[cluster]") {
    auto good =
        parse_join_command("kubeadm join 192.168.50.11:6443 --token " + std::string(k_token) +
                           " --discovery-token-ca-cert-hash " + k_hash + " \n");
    REQUIRE(good);
    CHECK(good->token == k_token);
    CHECK(good->ca_cert_hash == k_hash);
    CHECK_FALSE(parse_join_command("kubeadm join x --token ABCDEF.0123456789abcdef "
                                   "--discovery-token-ca-cert-hash " +
                                   k_hash));
    CHECK_FALSE(parse_join_command("kubeadm join x --token " + std::string(k_token) +
                                   " --discovery-token-ca-cert-hash sha256:abc"));
    CHECK_FALSE(parse_join_command(""));
    CHECK(parse_certificate_key(k_certificate_key + "\n").value() == k_certificate_key);
    CHECK_FALSE(parse_certificate_key("[upload-certs] key; rm -rf /"));
}

TEST_CASE("ssh command line: batch mode, known hosts, accept-new, sudo for non-root", "[cluster]") {
    const auto cluster = example();
    SshOptions options;
    options.known_hosts = "/home/me/super6c.known_hosts";
    NodeCommand command{"echo 'it''s'", "", std::chrono::seconds(5)};
    const auto argv = ssh_argv(options, cluster.nodes[1], command);
    const std::vector<std::string> expected = {
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "UserKnownHostsFile=/home/me/super6c.known_hosts",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
        "-l",
        "root",
        "192.168.50.12",
        "--",
        "sh -c 'echo '\\''it'\\'''\\''s'\\'''",
    };
    CHECK(argv == expected);
    options.user = "admin";
    options.identity = "/home/me/.ssh/id_ed25519";
    const auto sudo = ssh_argv(options, cluster.nodes[1], command);
    CHECK(std::ranges::find(sudo, "-i") != sudo.end());
    CHECK(std::ranges::find(sudo, "IdentitiesOnly=yes") != sudo.end());
    CHECK(sudo.back().starts_with("sudo -n sh -c "));
    options.known_hosts = "/home/me/my cluster/lab.known_hosts";
    const auto spaced = ssh_argv(options, cluster.nodes[1], command);
    CHECK(std::ranges::find(spaced, "UserKnownHostsFile=\"/home/me/my cluster/lab.known_hosts\"") !=
          spaced.end());
    CHECK(known_hosts_path_for(cluster) == (test::source_dir() / "configs/super6c.known_hosts"));
}

TEST_CASE("a new cluster: init on the first control plane, every worker joined", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    std::ostringstream progress;
    auto options = options_in(dir);
    options.progress = &progress;
    const auto report = cluster_up(cluster, nodes, options);
    CHECK(report.ok());
    CHECK(nodes.changes() == std::vector<std::string>{
                                 "cm5-1: kubeadm init --config",
                                 "cm5-1: token create",
                                 "cm5-2: kubeadm join --config",
                                 "cm5-3: kubeadm join --config",
                                 "cm5-4: kubeadm join --config",
                                 "cm5-5: kubeadm join --config",
                                 "cm5-6: kubeadm join --config",
                             });
    CHECK(report.nodes[0].result == NodeResult::initialised);
    for (std::size_t i = 1; i < report.nodes.size(); ++i) {
        CHECK(report.nodes[i].result == NodeResult::joined);
    }
    // Every config was validated by the node before it was used, and init got the rendered one.
    for (const auto& call : nodes.calls) {
        if (call.script.find("kubeadm init --config") != std::string::npos) {
            CHECK(call.stdin_data == render_init_config(cluster, cluster.nodes[0], "v1.31.2"));
        }
    }
    std::size_t validations = 0;
    for (const auto& call : nodes.calls) {
        validations += call.script.find("kubeadm config validate") != std::string::npos;
    }
    CHECK(validations == 6);
    CHECK(report.kubeconfig_written);
    struct stat st {};
    REQUIRE(::stat(options.kubeconfig.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(util::read_file(options.kubeconfig).value().find("admin of cm5-1") != std::string::npos);
    CHECK(progress.str().find("cm5-4: join\n") != std::string::npos);
    const auto json = to_json(report);
    CHECK(json["ok"] == true);
    CHECK(json["nodes"][1]["result"] == "joined");
}

TEST_CASE("a second run changes nothing", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    const auto options = options_in(dir);
    REQUIRE(cluster_up(cluster, nodes, options).ok());
    nodes.calls.clear();
    const auto again = cluster_up(cluster, nodes, options);
    CHECK(again.ok());
    CHECK(nodes.changes().empty());
    CHECK_FALSE(again.kubeconfig_written);
    for (const auto& node : again.nodes) {
        CHECK(node.result == NodeResult::unchanged);
    }
    CHECK(to_text(again).find("(unchanged)") != std::string::npos);
}

TEST_CASE("a wiped worker is joined again, the others are left alone", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    const auto options = options_in(dir);
    REQUIRE(cluster_up(cluster, nodes, options).ok());
    nodes.nodes["cm5-4"] = {}; // the volume was wiped; the API server still lists cm5-4
    nodes.calls.clear();
    const auto report = cluster_up(cluster, nodes, options);
    CHECK(report.ok());
    CHECK(nodes.changes() ==
          std::vector<std::string>{"cm5-1: token create", "cm5-4: kubeadm join --config"});
    CHECK(report.nodes[3].result == NodeResult::joined);
    CHECK(report.nodes[2].result == NodeResult::unchanged);
}

TEST_CASE("a second control plane joins with a fresh certificate key", "[cluster]") {
    test::TestDir dir;
    auto cluster = example();
    cluster.nodes[1].role = config::NodeRole::control_plane;
    FakeNodes nodes;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    CHECK(report.ok());
    const auto changes = nodes.changes();
    REQUIRE(changes.size() >= 5);
    CHECK(changes[0] == "cm5-1: kubeadm init --config");
    CHECK(changes[1] == "cm5-1: token create");
    CHECK(changes[2] == "cm5-1: certs certificate-key");
    CHECK(changes[3] == "cm5-1: upload-certs --upload-certs");
    CHECK(changes[4] == "cm5-2: kubeadm join --config");
    for (const auto& call : nodes.calls) {
        if (call.script.find("upload-certs --upload-certs") != std::string::npos) {
            CHECK(call.script.ends_with("--certificate-key " + k_certificate_key));
        }
        if (call.node == "cm5-2" && call.script.find("kubeadm join") != std::string::npos) {
            CHECK(call.stdin_data.find("certificateKey: " + k_certificate_key) !=
                  std::string::npos);
        }
        if (call.node == "cm5-3" && call.script.find("kubeadm join") != std::string::npos) {
            CHECK(call.stdin_data.find("controlPlane:") == std::string::npos);
        }
    }
}

TEST_CASE("the first control plane lost its state: it rejoins from the second", "[cluster]") {
    test::TestDir dir;
    auto cluster = example();
    cluster.nodes[1].role = config::NodeRole::control_plane;
    FakeNodes nodes;
    const auto options = options_in(dir);
    REQUIRE(cluster_up(cluster, nodes, options).ok());
    nodes.nodes["cm5-1"] = {};
    nodes.calls.clear();
    const auto report = cluster_up(cluster, nodes, options);
    CHECK(report.ok());
    CHECK(nodes.changes() == std::vector<std::string>{"cm5-2: token create",
                                                      "cm5-2: certs certificate-key",
                                                      "cm5-2: upload-certs --upload-certs",
                                                      "cm5-1: kubeadm join --config"});
}

TEST_CASE("an unreachable worker is named; the others still join", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    nodes.nodes["cm5-3"].unreachable = true;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    REQUIRE(report.failures.size() == 1);
    CHECK(
        report.failures[0].to_string().starts_with("node cm5-3: connect: ssh root@192.168.50.13"));
    CHECK(report.nodes[2].result == NodeResult::failed);
    CHECK(report.nodes[4].result == NodeResult::joined);
    CHECK(report.kubeconfig_written);
}

TEST_CASE("an unreachable control plane stops init: no second cluster", "[cluster]") {
    test::TestDir dir;
    auto cluster = example();
    cluster.nodes[1].role = config::NodeRole::control_plane;
    FakeNodes nodes;
    nodes.nodes["cm5-2"].unreachable = true;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    CHECK_FALSE(report.ok());
    CHECK(nodes.changes().empty());
    REQUIRE(report.failures.size() == 2);
    CHECK(report.failures[1].to_string().starts_with("node cm5-1: init: not initialising"));
    CHECK_FALSE(report.kubeconfig_written);
    CHECK(report.nodes[3].result == NodeResult::not_attempted);
}

TEST_CASE("validate failing names the node and the step; nothing is initialised", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    nodes.nodes["cm5-1"].validate_fails = true;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].to_string() ==
          "node cm5-1: validate: exit 1: unknown field \"bogus\"");
    CHECK(nodes.changes().empty());
    CHECK_FALSE(std::filesystem::exists(options_in(dir).kubeconfig));
}

TEST_CASE("a worker's validate failing stops only that worker", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    nodes.nodes["cm5-5"].validate_fails = true;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].node == "cm5-5");
    CHECK(report.failures[0].step == "validate");
    CHECK(report.nodes[5].result == NodeResult::joined);
}

TEST_CASE("kubelet.conf on a node the cluster does not know is reported, not reset", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    nodes.nodes["cm5-6"].kubelet_conf = true;
    const auto report = cluster_up(cluster, nodes, options_in(dir));
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].node == "cm5-6");
    CHECK(report.failures[0].step == "membership");
    for (const auto& change : nodes.changes()) {
        CHECK_FALSE(change.starts_with("cm5-6"));
    }
}

TEST_CASE("a slow etcd disk on a control plane is warned about", "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    nodes.nodes["cm5-1"].fsync_p99_ms = "23.46";
    nodes.nodes["cm5-2"].fsync_p99_ms = "99.99"; // a worker runs no etcd
    auto report = cluster_up(cluster, nodes, options_in(dir));
    CHECK(report.ok());
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].find("node cm5-1: etcd's disk is slow: fdatasync p99 23.46 ms") == 0);
    nodes.nodes["cm5-1"].fsync_p99_ms = "0.80";
    CHECK(cluster_up(cluster, nodes, options_in(dir)).warnings.empty());
    nodes.nodes["cm5-1"].fsync_p99_ms = "fast";
    CHECK(cluster_up(cluster, nodes, options_in(dir)).warnings.size() == 1);
}

TEST_CASE("the kubeconfig's mode is put back to 0600 even when its content is the same",
          "[cluster]") {
    test::TestDir dir;
    const auto cluster = example();
    FakeNodes nodes;
    const auto options = options_in(dir);
    REQUIRE(cluster_up(cluster, nodes, options).ok());
    ::chmod(options.kubeconfig.c_str(), 0644);
    CHECK(cluster_up(cluster, nodes, options).kubeconfig_written);
    struct stat st {};
    REQUIRE(::stat(options.kubeconfig.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
}

namespace {

struct CliRun {
    int code;
    std::string out;
    std::string err;
};

CliRun uhs_image(std::vector<std::string> args) {
    std::ostringstream out, err;
    util::Io io{out, err};
    const int code = cli::run_uhs_image(args, io);
    return {code, out.str(), err.str()};
}

// A copy of tests/configs/good.yaml in `dir`, with the keyring it names beside it.
std::string copy_of_good_cluster(const test::TestDir& dir) {
    std::filesystem::create_directories(dir.path() / "keyrings");
    std::filesystem::copy_file(test::data_dir() / "configs/keyrings/test-archive.gpg",
                               dir.path() / "keyrings/test-archive.gpg");
    std::filesystem::copy_file(test::data_dir() / "configs/good.yaml", dir.path() / "good.yaml");
    return (dir.path() / "good.yaml").string();
}

std::string lock_with_kubeadm(std::string_view version) {
    const std::string zeros(64, '0');
    return "format 1\nrequest " + zeros + "\narchitecture arm64\npackage kubeadm " +
           std::string(version) +
           " arm64 source=kubeadm from=kubernetes path=kubeadm.deb size=1 sha256=" + zeros + "\n";
}

} // namespace

TEST_CASE("uhs-image cluster up needs the lock, and a kubeadm the cluster file asks for",
          "[cluster]") {
    test::TestDir dir;
    const std::string file = copy_of_good_cluster(dir);
    auto no_lock = uhs_image({"cluster", "up", file});
    CHECK(no_lock.code == 2);
    CHECK(no_lock.err.find("good.yaml.lock does not exist: run 'uhs-image lock") !=
          std::string::npos);

    REQUIRE(util::write_file_atomic(file + ".lock", lock_with_kubeadm("1.30.4-1.1")));
    auto wrong = uhs_image({"cluster", "up", file});
    CHECK(wrong.code == 2);
    CHECK(wrong.err.find("kubernetes.version is 1.31 but the lock's kubeadm is 1.30.4-1.1") !=
          std::string::npos);
    CHECK(wrong.out.empty());

    REQUIRE(util::write_file_atomic(file + ".lock", lock_with_kubeadm("1.31.2-1.1")));
    auto timeout = uhs_image({"cluster", "up", file, "--timeout", "soon"});
    CHECK(timeout.code == 2);
    CHECK(timeout.err.find("--timeout: 'soon' is not a number of seconds") != std::string::npos);
    auto help = uhs_image({"cluster", "--help"});
    CHECK(help.code == 0);
    CHECK(help.out.find("up") != std::string::npos);
}
