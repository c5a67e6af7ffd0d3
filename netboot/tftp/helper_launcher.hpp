// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/fd.hpp"
#include "netboot/tftp/supervisor.hpp"

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/types.h>

namespace uhs::netboot::tftp {

// The helper's answer on the wire (same binary on both ends).
struct HelperReply {
    int ok = 0;
    int value = 0;     // pid for spawn, wait status for reap
    int has_value = 0; // reap: the child has exited
    char message[200]{};
};

// A ProcessLauncher backed by a helper process forked while the daemon is still root.
//
// Why: in.tftpd --secure --user tftp must start as uid 0, so that its per-request
// setreuid(0 -> tftp) clears every capability of the transfer process. Started by the
// unprivileged daemon it would have to inherit ambient SETUID/SETGID/SYS_CHROOT, and its
// transfer processes would keep them. The helper stays uid 0 with only `keep_caps` in its
// bounding set (so in.tftpd gets no more), runs nothing but the `argv` fixed at fork time,
// signals and reaps only its own child, and exits, killing the child's process group, when
// the daemon's end of the channel closes (the daemon exited or died).
class HelperLauncher final : public ProcessLauncher {
public:
    // Forks the helper. `keep_caps` are capability numbers (CAP_*). Fails when the fork or the
    // helper's capability setup fails.
    static util::Result<std::unique_ptr<HelperLauncher>> start(std::vector<std::string> argv,
                                                               std::span<const int> keep_caps);
    ~HelperLauncher() override;

    // Starts the fixed argv; refuses any other command line (Errc::refused).
    util::Result<pid_t> spawn(const std::vector<std::string>& argv) override;
    // Signals the process group of the helper's last child (`pid` must be that child).
    void kill_group(pid_t pid, int signal) override;
    std::optional<int> try_reap(pid_t pid) override;

    pid_t helper_pid() const { return m_helper; }

private:
    HelperLauncher(util::UniqueFd channel, pid_t helper, std::vector<std::string> argv)
        : m_channel(std::move(channel)), m_helper(helper), m_argv(std::move(argv)) {}
    util::Result<HelperReply> call(char op, int arg);

    util::UniqueFd m_channel;
    pid_t m_helper = -1;
    std::vector<std::string> m_argv;
};

} // namespace uhs::netboot::tftp
