// SPDX-License-Identifier: Apache-2.0
#include "builder/cluster/cluster_up.hpp"

#include "builder/cluster/kubeadm_config.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace uhs::cluster {

namespace fs = std::filesystem;

namespace {

// Every script runs under `sh -c` as root on the node. They use only what kubeadm's own
// packages and a Debian minbase have.

// What the node already is: one "key=value" line each.
constexpr std::string_view k_probe_script =
    "for f in kubelet.conf admin.conf; do\n"
    "  if [ -e /etc/kubernetes/$f ]; then echo \"$f=yes\"; else echo \"$f=no\"; fi\n"
    "done\n"
    "if [ -r /run/uhs/etcd-disk-probe ]; then\n"
    "  printf 'etcd-fsync-p99-ms=%s\\n' \"$(sed -n 's/^p99_ms=//p' /run/uhs/etcd-disk-probe | head "
    "-c 32)\"\n"
    "fi\n";

// Writes standard input (the kubeadm config) to a private temp file, has kubeadm check it,
// then runs `then` with "$f" naming the file; the file is removed however the script ends.
std::string with_config(std::string_view then) {
    std::string script = "set -e\n"
                         "f=$(mktemp /tmp/uhs-kubeadm.XXXXXX)\n"
                         "trap 'rm -f \"$f\"' EXIT\n"
                         "cat >\"$f\"\n";
    script += then;
    script += '\n';
    return script;
}

constexpr std::string_view k_validate = "kubeadm config validate --config \"$f\"";
constexpr std::string_view k_members_script =
    "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name";
constexpr std::string_view k_token_script = "kubeadm token create --ttl 1h --print-join-command";
constexpr std::string_view k_certificate_key_script = "kubeadm certs certificate-key";
constexpr std::string_view k_kubeconfig_script = "cat /etc/kubernetes/admin.conf";

struct NodeState {
    bool reachable = false;
    bool kubelet_conf = false;
    bool admin_conf = false;
    std::optional<std::string> fsync_p99_ms;
};

// Why a script failed, in one line: its exit code and the end of what it said.
std::string describe_failure(const util::CommandOutput& output) {
    std::vector<std::string> lines;
    const std::string& text = output.err.empty() ? output.out : output.err;
    for (auto line : util::split(text, '\n')) {
        if (auto l = util::trim(line); !l.empty()) {
            lines.emplace_back(l);
        }
    }
    if (lines.size() > 3) {
        lines.erase(lines.begin(), lines.end() - 3);
    }
    std::string message = "exit " + std::to_string(output.exit_code);
    if (!lines.empty()) {
        message += ": " + util::join(lines, " / ");
    }
    return message;
}

class Run {
public:
    Run(const config::Cluster& cluster, NodeShell& shell, const UpOptions& options)
        : m_cluster(cluster), m_shell(shell), m_options(options) {
        m_report.kubernetes_version = options.kubernetes_version;
        m_report.kubeconfig = options.kubeconfig;
        for (const config::Node& node : cluster.nodes) {
            m_report.nodes.push_back(
                {node.name, node.role, node.ip.to_string(), NodeResult::not_attempted});
        }
        m_states.resize(cluster.nodes.size());
    }

    UpReport run() {
        probe_all();
        const auto seed = find_or_init_seed();
        if (!seed) {
            return std::move(m_report);
        }
        auto members = fetch_members(*seed);
        if (!members) {
            return std::move(m_report);
        }
        join_the_rest(*seed, *members);
        write_kubeconfig(*seed);
        return std::move(m_report);
    }

private:
    const config::Node& node(std::size_t i) const { return m_cluster.nodes[i]; }
    bool is_control_plane(std::size_t i) const {
        return node(i).role == config::NodeRole::control_plane;
    }

    void progress(std::size_t i, std::string_view what) {
        if (m_options.progress != nullptr) {
            *m_options.progress << node(i).name << ": " << what << '\n' << std::flush;
        }
    }

    void failed(std::size_t i, std::string step, std::string message) {
        progress(i, step + " failed");
        m_report.nodes[i].result = NodeResult::failed;
        m_report.failures.push_back({node(i).name, std::move(step), std::move(message)});
    }

    // Runs one step's script on node `i`; a failure (unreachable, non-zero exit) is recorded
    // against that node and step.
    std::optional<util::CommandOutput> step(std::size_t i, const std::string& name,
                                            std::string script, std::string stdin_data = {},
                                            std::optional<std::chrono::milliseconds> timeout = {}) {
        progress(i, name);
        NodeCommand command{std::move(script), std::move(stdin_data),
                            timeout.value_or(m_options.command_timeout)};
        auto output = m_shell.run(node(i), command);
        if (!output) {
            failed(i, name, output.error().message);
            return std::nullopt;
        }
        if (output->exit_code != 0) {
            failed(i, name, describe_failure(*output));
            return std::nullopt;
        }
        return std::move(*output);
    }

    void probe_all() {
        for (std::size_t i = 0; i < m_cluster.nodes.size(); ++i) {
            auto output =
                step(i, "connect", std::string(k_probe_script), {}, m_options.probe_timeout);
            if (!output) {
                continue;
            }
            NodeState state;
            bool kubelet_seen = false;
            bool admin_seen = false;
            for (auto line : util::split(output->out, '\n')) {
                line = util::trim(line);
                if (line == "kubelet.conf=yes" || line == "kubelet.conf=no") {
                    state.kubelet_conf = line.ends_with("=yes");
                    kubelet_seen = true;
                } else if (line == "admin.conf=yes" || line == "admin.conf=no") {
                    state.admin_conf = line.ends_with("=yes");
                    admin_seen = true;
                } else if (line.starts_with("etcd-fsync-p99-ms=")) {
                    state.fsync_p99_ms = std::string(line.substr(line.find('=') + 1));
                }
            }
            if (!kubelet_seen || !admin_seen) {
                failed(i, "connect",
                       "the node's shell did not answer the probe (got '" +
                           std::string(util::trim(output->out).substr(0, 80)) + "')");
                continue;
            }
            state.reachable = true;
            m_states[i] = state;
            if (is_control_plane(i) && state.fsync_p99_ms) {
                warn_about_fsync(i, *state.fsync_p99_ms);
            }
        }
    }

    // The hook for the per-node fdatasync probe: etcd misses heartbeats on a slow disk.
    void warn_about_fsync(std::size_t i, const std::string& text) {
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
            m_report.warnings.push_back("node " + node(i).name + ": " +
                                        std::string(k_etcd_fsync_probe_path) + " has p99_ms '" +
                                        text + "', not a number of milliseconds");
            return;
        }
        if (value > k_etcd_fsync_limit_ms) {
            m_report.warnings.push_back(
                "node " + node(i).name + ": etcd's disk is slow: fdatasync p99 " + text +
                " ms, over the 10 ms etcd wants (" + std::string(k_etcd_fsync_probe_path) + ")");
        }
    }

    // The control plane to work from: the first that has the cluster (admin.conf), else the
    // first control plane after `kubeadm init` made the cluster there.
    std::optional<std::size_t> find_or_init_seed() {
        std::optional<std::size_t> first_control_plane;
        std::optional<std::size_t> unreachable_control_plane;
        for (std::size_t i = 0; i < m_cluster.nodes.size(); ++i) {
            if (!is_control_plane(i)) {
                continue;
            }
            if (!first_control_plane) {
                first_control_plane = i;
            }
            if (!m_states[i].reachable) {
                unreachable_control_plane = unreachable_control_plane.value_or(i);
            } else if (m_states[i].admin_conf) {
                return i;
            }
        }
        if (!first_control_plane) {
            return std::nullopt; // the loader guarantees one; nothing to do without it
        }
        const std::size_t first = *first_control_plane;
        if (unreachable_control_plane) {
            // A control plane we cannot see may hold the cluster: never make a second one.
            if (*unreachable_control_plane != first) {
                failed(first, "init",
                       "not initialising a cluster while control plane " +
                           node(*unreachable_control_plane).name +
                           " cannot be reached (it may already hold one)");
            }
            return std::nullopt;
        }
        if (m_states[first].kubelet_conf) {
            failed(first, "init",
                   "/etc/kubernetes/kubelet.conf exists but admin.conf does not: the node "
                   "belongs to another cluster; run 'kubeadm reset' on it first");
            return std::nullopt;
        }
        const std::string config =
            render_init_config(m_cluster, node(first), m_options.kubernetes_version);
        if (!step(first, "validate", with_config(k_validate), config) ||
            !step(first, "init", with_config("kubeadm init --config \"$f\" --upload-certs"),
                  config)) {
            return std::nullopt;
        }
        m_report.nodes[first].result = NodeResult::initialised;
        m_states[first].admin_conf = true;
        m_states[first].kubelet_conf = true;
        progress(first, "initialised");
        return first;
    }

    std::optional<std::set<std::string>> fetch_members(std::size_t seed) {
        auto output = step(seed, "members", std::string(k_members_script));
        if (!output) {
            return std::nullopt;
        }
        std::set<std::string> members;
        for (auto line : util::split(output->out, '\n')) {
            line = util::trim(line);
            if (line.starts_with("node/")) {
                members.emplace(line.substr(5));
            }
        }
        return members;
    }

    void join_the_rest(std::size_t seed, const std::set<std::string>& members) {
        if (m_report.nodes[seed].result == NodeResult::not_attempted) {
            m_report.nodes[seed].result = NodeResult::unchanged;
        }
        std::vector<std::size_t> to_join;
        // Control planes first: the workers then have every API server to talk to.
        for (const bool control_planes : {true, false}) {
            for (std::size_t i = 0; i < m_cluster.nodes.size(); ++i) {
                if (i == seed || is_control_plane(i) != control_planes || !m_states[i].reachable) {
                    continue;
                }
                const bool known = members.contains(node(i).name);
                if (m_states[i].kubelet_conf && known) {
                    m_report.nodes[i].result = NodeResult::unchanged;
                } else if (m_states[i].kubelet_conf) {
                    failed(i, "membership",
                           "/etc/kubernetes/kubelet.conf exists but the cluster has no node " +
                               node(i).name +
                               ": it belongs to another cluster; run 'kubeadm "
                               "reset' on it first");
                } else {
                    to_join.push_back(i); // new, or a member that lost its state
                }
            }
        }
        if (to_join.empty()) {
            return;
        }
        auto token = step(seed, "token", std::string(k_token_script));
        if (!token) {
            return;
        }
        auto credentials = parse_join_command(token->out);
        if (!credentials) {
            failed(seed, "token", credentials.error().message);
            return;
        }
        if (std::ranges::any_of(to_join, [&](std::size_t i) { return is_control_plane(i); })) {
            auto key_output = step(seed, "certificate-key", std::string(k_certificate_key_script));
            if (!key_output) {
                return;
            }
            auto key = parse_certificate_key(key_output->out);
            if (!key) {
                failed(seed, "certificate-key", key.error().message);
                return;
            }
            // The key is hex (checked above), so it is safe on the command line.
            if (!step(seed, "upload-certs",
                      "kubeadm init phase upload-certs --upload-certs --certificate-key " + *key)) {
                return;
            }
            credentials->certificate_key = *key;
        }
        for (std::size_t i : to_join) {
            const std::string config = render_join_config(m_cluster, node(i), *credentials);
            if (!step(i, "validate", with_config(k_validate), config) ||
                !step(i, "join", with_config("kubeadm join --config \"$f\""), config)) {
                continue;
            }
            m_report.nodes[i].result = NodeResult::joined;
            progress(i, "joined");
        }
    }

    void write_kubeconfig(std::size_t seed) {
        auto output = step(seed, "kubeconfig", std::string(k_kubeconfig_script));
        if (!output) {
            return;
        }
        if (output->out.empty()) {
            failed(seed, "kubeconfig", "/etc/kubernetes/admin.conf is empty");
            return;
        }
        const fs::path& path = m_options.kubeconfig;
        std::error_code ec;
        const auto mode = fs::status(path, ec).permissions() & fs::perms::mask;
        const bool private_mode = !ec && mode == (fs::perms::owner_read | fs::perms::owner_write);
        m_report.kubeconfig_checked = true;
        if (auto existing = util::read_file(path);
            existing && *existing == output->out && private_mode) {
            return;
        }
        if (auto written = util::write_file_atomic(path, output->out, 0600); !written) {
            failed(seed, "kubeconfig",
                   "cannot write " + path.string() + ": " + written.error().message);
            return;
        }
        m_report.kubeconfig_written = true;
    }

    const config::Cluster& m_cluster;
    NodeShell& m_shell;
    const UpOptions& m_options;
    UpReport m_report;
    std::vector<NodeState> m_states;
};

} // namespace

fs::path kubeconfig_path_for(const config::Cluster& cluster) {
    return cluster.file.parent_path() / (cluster.cluster.name + ".kubeconfig");
}

std::string_view to_string(NodeResult result) {
    switch (result) {
    case NodeResult::unchanged:
        return "unchanged";
    case NodeResult::initialised:
        return "initialised";
    case NodeResult::joined:
        return "joined";
    case NodeResult::failed:
        return "failed";
    case NodeResult::not_attempted:
        return "not-attempted";
    }
    return "unknown";
}

std::string UpFailure::to_string() const {
    return "node " + node + ": " + step + ": " + message;
}

UpReport cluster_up(const config::Cluster& cluster, NodeShell& shell, const UpOptions& options) {
    return Run(cluster, shell, options).run();
}

nlohmann::json to_json(const UpReport& report) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const NodeOutcome& node : report.nodes) {
        nodes.push_back({{"name", node.name},
                         {"role", config::to_string(node.role)},
                         {"ip", node.ip},
                         {"result", to_string(node.result)}});
    }
    nlohmann::json failures = nlohmann::json::array();
    for (const UpFailure& failure : report.failures) {
        failures.push_back(
            {{"node", failure.node}, {"step", failure.step}, {"message", failure.message}});
    }
    return {{"kubernetes_version", report.kubernetes_version},
            {"ok", report.ok()},
            {"nodes", nodes},
            {"failures", failures},
            {"warnings", report.warnings},
            {"kubeconfig",
             {{"path", report.kubeconfig.string()},
              {"written", report.kubeconfig_written},
              {"checked", report.kubeconfig_checked}}}};
}

std::string to_text(const UpReport& report) {
    std::string text = "kubernetes " + report.kubernetes_version + "\n";
    for (const NodeOutcome& node : report.nodes) {
        text += "  " + node.name + "  " + std::string(config::to_string(node.role)) + "  " +
                node.ip + "  " + std::string(to_string(node.result)) + "\n";
    }
    for (const std::string& warning : report.warnings) {
        text += "warning: " + warning + "\n";
    }
    text += "kubeconfig " + report.kubeconfig.string() +
            (report.kubeconfig_written   ? " (written)\n"
             : report.kubeconfig_checked ? " (unchanged)\n"
                                         : " (not written)\n");
    return text;
}

} // namespace uhs::cluster
