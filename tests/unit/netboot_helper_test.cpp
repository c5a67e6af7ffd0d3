// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fs.hpp"
#include "netboot/tftp/helper_launcher.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <string>

#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace uhs;
using namespace uhs::netboot::tftp;

namespace {

// The hex value of a "Cap...:" line of /proc/PID/status.
std::uint64_t capability_set(pid_t pid, const std::string& which) {
    const auto status = util::read_file("/proc/" + std::to_string(pid) + "/status").value_or("");
    const auto at = status.find(which + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(status.substr(at + which.size() + 2, 16), nullptr, 16);
}

bool gone(pid_t pid) {
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

TEST_CASE("the in.tftpd helper runs only its fixed command line, signals and reaps it") {
    const std::vector<std::string> argv{"/bin/sleep", "30"};
    static constexpr int k_caps[] = {CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_SETUID, CAP_SETGID};
    auto helper = HelperLauncher::start(argv, k_caps);
    REQUIRE(helper);
    HelperLauncher& h = **helper;

    auto refused = h.spawn({"/bin/sh", "-c", "id"});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == util::Errc::refused);

    auto pid = h.spawn(argv);
    REQUIRE(pid);
    CHECK_FALSE(h.try_reap(*pid));
    CHECK_FALSE(h.spawn(argv)); // one child at a time
    if (::geteuid() == 0) {
        // Root: the child gets exactly the helper's bounding set; nothing ambient.
        const std::uint64_t want = (1ull << CAP_NET_BIND_SERVICE) | (1ull << CAP_SYS_CHROOT) |
                                   (1ull << CAP_SETUID) | (1ull << CAP_SETGID);
        CHECK(capability_set(*pid, "CapPrm") == want);
        CHECK(capability_set(*pid, "CapBnd") == want);
        CHECK(capability_set(*pid, "CapAmb") == 0);
        CHECK(capability_set(h.helper_pid(), "CapPrm") == want);
    } else {
        CHECK(capability_set(*pid, "CapPrm") == 0);
    }

    h.kill_group(*pid, SIGTERM);
    std::optional<int> status;
    for (int i = 0; i < 500 && !status; ++i) {
        status = h.try_reap(*pid);
        if (!status) {
            ::usleep(2000);
        }
    }
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGTERM);

    // A new child after the old one was reaped; the helper's end takes it down with it.
    auto again = h.spawn(argv);
    REQUIRE(again);
    const pid_t helper_pid = h.helper_pid();
    helper->reset();
    CHECK(gone(*again));
    CHECK(gone(helper_pid));
}
