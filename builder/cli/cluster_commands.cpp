// SPDX-License-Identifier: Apache-2.0
// `cluster up`: brings the cluster up over SSH with kubeadm (builder/cluster does the work).
#include "builder/apt/lockfile.hpp"
#include "builder/cli/commands.hpp"
#include "builder/cluster/cluster_up.hpp"
#include "builder/cluster/kubeadm_config.hpp"
#include "builder/cluster/node_shell.hpp"
#include "builder/image/image_id.hpp"

#include <cstdlib>

#include <unistd.h>

namespace uhs::cli {

using util::Io;
using util::ParsedArgs;

namespace {

constexpr std::string_view k_program = "uhs-image cluster up";

int report(Io& io, const util::Error& error) {
    return util::report_error(io, k_program, error.message,
                              error.code == util::Errc::invalid_input ||
                                      error.code == util::Errc::not_found
                                  ? util::k_exit_usage
                                  : util::k_exit_failure);
}

int run_cluster_up(const ParsedArgs& args, Io& io) {
    const std::string& file = args.positionals.at(0);
    auto cluster = load_cluster_or_report(file, io);
    if (!cluster) {
        return util::k_exit_usage;
    }
    // 1. The Kubernetes version is the one the image carries: the lock's kubeadm.
    const auto lock_path = image::lock_path_for(file);
    auto lock = apt::read_lock(lock_path);
    if (!lock) {
        if (lock.error().code == util::Errc::not_found) {
            return report(io, {lock_path.string() + " does not exist: run 'uhs-image lock " + file +
                                   "' first (cluster up takes the Kubernetes version from it)",
                               util::Errc::not_found});
        }
        return report(io, lock.error());
    }
    auto version = cluster::kubernetes_version_from_lock(*lock, cluster->kubernetes);
    if (!version) {
        return report(io, util::with_context(version.error(), lock_path.string()));
    }

    // 2. How to reach the nodes.
    cluster::SshOptions ssh;
    ssh.user = args.value("--user").value_or("root");
    if (auto identity = args.value("--identity")) {
        ssh.identity = *identity;
    }
    ssh.known_hosts = cluster::known_hosts_path_for(*cluster);
    cluster::UpOptions options;
    options.kubernetes_version = *version;
    options.kubeconfig =
        args.value("--kubeconfig").value_or(cluster::kubeconfig_path_for(*cluster).string());
    if (auto text = args.value("--timeout")) {
        auto timeout = util::parse_seconds_option("--timeout", *text, 24 * 3600);
        if (!timeout) {
            return report(io, timeout.error());
        }
        options.command_timeout = *timeout;
        options.probe_timeout = std::min(options.probe_timeout, *timeout);
    }
    if (::isatty(STDERR_FILENO) == 1) {
        options.progress = &io.err;
    }

    // 3. Look at every node, init, join, write the kubeconfig.
    cluster::SshNodeShell shell(ssh, util::default_command_runner());
    const cluster::UpReport result = cluster::cluster_up(*cluster, shell, options);
    if (args.has("--json")) {
        io.out << cluster::to_json(result).dump(2) << '\n';
    } else {
        io.out << cluster::to_text(result);
    }
    for (const std::string& warning : result.warnings) {
        io.err << k_program << ": warning: " << warning << '\n';
    }
    for (const cluster::UpFailure& failure : result.failures) {
        util::report_error(io, k_program, failure.to_string(), util::k_exit_failure);
    }
    return result.ok() ? util::k_exit_ok : util::k_exit_failure;
}

} // namespace

std::vector<util::SubcommandSpec> cluster_commands() {
    using util::TakesValue;
    return {
        {
            .name = "cluster",
            .summary = "bring the cluster's nodes into one Kubernetes cluster over SSH",
            .children =
                {
                    {
                        .name = "up",
                        .summary = "kubeadm init on the first control plane, join the rest",
                        .arguments = "CLUSTER.yaml [--identity KEY] [--user USER] [--json]",
                        .description =
                            "Over SSH (the system's OpenSSH client, batch mode) to each node's\n"
                            "address: host keys are recorded on first contact in\n"
                            "<dir>/<cluster>.known_hosts beside the cluster file and refused when\n"
                            "they change. Renders a kubeadm configuration "
                            "(kubeadm.k8s.io/v1beta4;\n"
                            "the version is the lock's kubeadm, controlPlaneEndpoint, pod and\n"
                            "service CIDRs, node names and addresses, containerd's socket, the\n"
                            "systemd cgroup driver), has the node's own `kubeadm config validate`\n"
                            "check it, runs `kubeadm init --upload-certs` on the first control\n"
                            "plane when no control plane has the cluster, joins further control\n"
                            "planes with a fresh certificate key and every node with a fresh\n"
                            "bootstrap token, and writes the admin kubeconfig to\n"
                            "<dir>/<cluster>.kubeconfig (mode 0600). Run again, it joins only the\n"
                            "nodes that are not members (no /etc/kubernetes/kubelet.conf: a\n"
                            "replaced module, a wiped volume) and changes nothing else. A node\n"
                            "that has kubelet.conf but is not a member is reported, not reset.\n"
                            "Warns when a control plane's /var/lib/uhs/etcd-fsync-p99-us is over\n"
                            "10 ms. Failures: 'node NAME: STEP: message', exit 1.",
                        .options =
                            {
                                {"--identity", TakesValue::yes,
                                 "SSH private key (default: the agent and ssh's own defaults)",
                                 "KEY"},
                                {"--user", TakesValue::yes,
                                 "SSH user; not root means sudo -n on the node (default root)",
                                 "USER"},
                                {"--kubeconfig", TakesValue::yes,
                                 "where to write the admin kubeconfig (default "
                                 "<dir>/<cluster>.kubeconfig)",
                                 "FILE"},
                                {"--timeout", TakesValue::yes,
                                 "seconds each step may take on a node (default 900)", "SECONDS"},
                                {"--json", TakesValue::no, "print the result as one JSON document"},
                            },
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .run = run_cluster_up,
                    },
                },
        },
    };
}

} // namespace uhs::cli
