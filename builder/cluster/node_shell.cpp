// SPDX-License-Identifier: Apache-2.0
#include "builder/cluster/node_shell.hpp"

#include "builder/util/strings.hpp"

namespace uhs::cluster {

namespace {

// ssh exits 255 for its own failures (connection, authentication, host key); a remote
// command's status is passed through otherwise.
constexpr int k_ssh_failed = 255;

// The last few lines of ssh's standard error: the reason, without the banner.
std::string last_lines(std::string_view text, std::size_t count) {
    std::vector<std::string> lines;
    for (auto line : util::split(text, '\n')) {
        if (auto l = util::trim(line); !l.empty()) {
            lines.emplace_back(l);
        }
    }
    if (lines.size() > count) {
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
    }
    return util::join(lines, " / ");
}

// ssh splits an option's value at spaces (UserKnownHostsFile takes several files); a
// double-quoted value is one word.
std::string ssh_config_word(const std::string& value) {
    return value.find_first_of(" \t") == std::string::npos ? value : "\"" + value + "\"";
}

} // namespace

std::filesystem::path known_hosts_path_for(const config::Cluster& cluster) {
    // Absolute: ssh must find the same file whatever directory it runs in.
    return std::filesystem::absolute(cluster.file).parent_path() /
           (cluster.cluster.name + ".known_hosts");
}

std::string shell_quote(std::string_view script) {
    std::string quoted = "'";
    for (char c : script) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    quoted += '\'';
    return quoted;
}

std::vector<std::string> ssh_argv(const SshOptions& options, const config::Node& node,
                                  const NodeCommand& command) {
    std::vector<std::string> argv = {
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "UserKnownHostsFile=" + ssh_config_word(options.known_hosts.string()),
        "-o",
        "ConnectTimeout=" + std::to_string(options.connect_timeout_seconds),
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
    };
    if (options.identity) {
        argv.insert(argv.end(), {"-i", options.identity->string(), "-o", "IdentitiesOnly=yes"});
    }
    argv.insert(argv.end(), {"-l", options.user, node.ip.to_string(), "--"});
    const std::string shell = "sh -c " + shell_quote(command.script);
    argv.push_back(options.user == "root" ? shell : "sudo -n " + shell);
    return argv;
}

util::Result<util::CommandOutput> SshNodeShell::run(const config::Node& node,
                                                    const NodeCommand& command) {
    util::Command ssh;
    ssh.argv = ssh_argv(m_options, node, command);
    ssh.stdin_data = command.stdin_data;
    ssh.timeout = command.timeout;
    auto output = m_runner.run(ssh);
    if (!output) {
        if (output.error().code == util::Errc::not_found) {
            return util::fail(util::Errc::not_found,
                              "ssh is not installed (Debian: apt-get install openssh-client)");
        }
        return std::unexpected(output.error());
    }
    if (output->exit_code == k_ssh_failed) {
        std::string message = "ssh " + m_options.user + "@" + node.ip.to_string() +
                              " failed: " + last_lines(output->err, 2);
        // A hint only, not a decision: ssh has refused the connection either way.
        if (output->err.find("Host key verification failed") != std::string::npos) {
            message += " (the host key differs from the one recorded in " +
                       m_options.known_hosts.string() + "; if " + node.name +
                       " was really reinstalled, remove its old key with 'ssh-keygen -R " +
                       node.ip.to_string() + " -f " + m_options.known_hosts.string() + "')";
        }
        return util::fail(util::Errc::refused, message);
    }
    return output;
}

} // namespace uhs::cluster
