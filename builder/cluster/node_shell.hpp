// SPDX-License-Identifier: Apache-2.0
// How `cluster up` runs commands on a node: the seam between the orchestration and SSH.
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"
#include "builder/util/subprocess.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uhs::cluster {

// One shell script run on a node as root, with `stdin_data` on its standard input.
struct NodeCommand {
    std::string script;
    std::string stdin_data;
    std::chrono::milliseconds timeout{std::chrono::minutes(15)};
};

// Runs scripts on the cluster's nodes. Fails when the node cannot be reached or refuses us
// (connection, authentication, a changed host key), or when the command outlives its timeout;
// a script's own non-zero exit is a normal CommandOutput.
class NodeShell {
public:
    virtual ~NodeShell() = default;
    virtual util::Result<util::CommandOutput> run(const config::Node& node,
                                                  const NodeCommand& command) = 0;
};

struct SshOptions {
    std::string user = "root";
    std::optional<std::filesystem::path> identity; // -i; otherwise ssh's agent and defaults
    std::filesystem::path known_hosts;             // host keys, recorded on first contact
    int connect_timeout_seconds = 10;
};

// The known_hosts file `cluster up` keeps beside the cluster file:
// "<dir>/<cluster.name>.known_hosts".
std::filesystem::path known_hosts_path_for(const config::Cluster& cluster);

// `script` quoted for a POSIX shell as one word.
std::string shell_quote(std::string_view script);

// The ssh command line that runs `command` on `node`: batch mode (no prompts), host keys
// recorded in `options.known_hosts` on first contact and refused when they change
// (StrictHostKeyChecking=accept-new), keepalives so a dead node ends the command; as root
// directly or through `sudo -n` for another user.
std::vector<std::string> ssh_argv(const SshOptions& options, const config::Node& node,
                                  const NodeCommand& command);

// The system's OpenSSH client (/usr/bin/ssh, found in PATH) through a CommandRunner.
class SshNodeShell final : public NodeShell {
public:
    SshNodeShell(SshOptions options, util::CommandRunner& runner)
        : m_options(std::move(options)), m_runner(runner) {}
    util::Result<util::CommandOutput> run(const config::Node& node,
                                          const NodeCommand& command) override;

private:
    SshOptions m_options;
    util::CommandRunner& m_runner;
};

} // namespace uhs::cluster
