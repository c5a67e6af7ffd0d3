// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/supervisor.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <map>

#include <unistd.h>

using namespace uhs;
using namespace uhs::netboot::tftp;
using namespace std::chrono_literals;

namespace {

// Records every call; the test decides when children "exit".
class FakeLauncher final : public ProcessLauncher {
public:
    util::Result<pid_t> spawn(const std::vector<std::string>& argv) override {
        spawned.push_back(argv);
        if (fail_next) {
            fail_next = false;
            return util::fail(util::Errc::not_found, "cannot run");
        }
        const pid_t pid = next_pid++;
        alive[pid] = true;
        return pid;
    }
    void kill_group(pid_t pid, int signal) override {
        signals.emplace_back(pid, signal);
        if (alive.count(pid) && signal == SIGTERM && !ignore_term) {
            alive[pid] = false;
        }
        if (alive.count(pid) && signal == SIGKILL) {
            alive[pid] = false;
        }
    }
    std::optional<int> try_reap(pid_t pid) override {
        if (alive.count(pid) && !alive[pid]) {
            alive.erase(pid);
            return 9;
        }
        return std::nullopt;
    }
    std::vector<std::vector<std::string>> spawned;
    std::vector<std::pair<pid_t, int>> signals;
    std::map<pid_t, bool> alive;
    pid_t next_pid = 100;
    bool fail_next = false;
    bool ignore_term = false;
};

} // namespace

TEST_CASE("in.tftpd command line") {
    TftpdOptions o;
    o.root = "/srv/root";
    o.remap = "/srv/remap";
    o.address = "10.1.0.2";
    o.port = 6969;
    const auto argv = tftpd_argv(o);
    const std::vector<std::string> expected{
        "/usr/sbin/in.tftpd", "--foreground",  "--secure",    "--verbosity", "2",
        "--address",          "10.1.0.2:6969", "--blocksize", "1468",        "--map-file",
        "/srv/remap",         "--user",        "tftp",        "/srv/root"};
    CHECK(argv == expected);
}

TEST_CASE("supervisor restarts with exponential backoff and resets after a stable run") {
    FakeLauncher launcher;
    Supervisor s(launcher, {"/bin/x"});
    const auto t0 = Clock::time_point{} + 1000s;
    REQUIRE(s.start(t0));
    CHECK(s.running());
    CHECK(s.pid() == 100);

    // Crash 1 right away: restart after 200 ms.
    launcher.alive[100] = false;
    s.tick(t0 + 10ms);
    CHECK_FALSE(s.running());
    CHECK(s.restarts() == 1);
    s.tick(t0 + 100ms);
    CHECK_FALSE(s.running());
    s.tick(t0 + 210ms);
    REQUIRE(s.running());
    CHECK(s.pid() == 101);

    // Crash 2: 400 ms.
    launcher.alive[101] = false;
    s.tick(t0 + 300ms);
    s.tick(t0 + 650ms);
    CHECK_FALSE(s.running());
    s.tick(t0 + 710ms);
    REQUIRE(s.running());

    // A long run resets the delay to 200 ms.
    launcher.alive[102] = false;
    s.tick(t0 + 60s);
    s.tick(t0 + 60s + 210ms);
    CHECK(s.running());
    CHECK(s.restarts() == 3);
}

TEST_CASE("supervisor backoff is capped") {
    FakeLauncher launcher;
    Supervisor s(launcher, {"/bin/x"});
    auto t = Clock::time_point{} + 1000s;
    REQUIRE(s.start(t));
    for (int i = 0; i < 20; ++i) {
        launcher.alive[s.pid()] = false;
        s.tick(t);
        t += Supervisor::k_max_backoff;
        s.tick(t);
        REQUIRE(s.running());
    }
    CHECK(s.current_backoff() == Supervisor::k_max_backoff);
}

TEST_CASE("supervisor retries a failed spawn and stops cleanly") {
    FakeLauncher launcher;
    launcher.fail_next = true;
    Supervisor s(launcher, {"/bin/x"});
    const auto t0 = Clock::time_point{} + 1000s;
    CHECK_FALSE(s.start(t0));
    CHECK_FALSE(s.running());
    s.tick(t0 + 250ms);
    REQUIRE(s.running());

    SECTION("SIGTERM suffices") {
        s.stop(50ms);
        CHECK_FALSE(s.running());
        CHECK(launcher.signals.front().second == SIGTERM);
    }
    SECTION("SIGKILL after the grace period") {
        launcher.ignore_term = true;
        s.stop(30ms);
        CHECK_FALSE(s.running());
        bool killed = false;
        for (auto [pid, sig] : launcher.signals) {
            killed = killed || sig == SIGKILL;
        }
        CHECK(killed);
    }
    // A stopped supervisor does not restart.
    s.tick(t0 + 100s);
    CHECK_FALSE(s.running());
}

TEST_CASE("the posix launcher reports a missing program") {
    PosixProcessLauncher launcher;
    auto pid = launcher.spawn({"/nonexistent/in.tftpd"});
    REQUIRE_FALSE(pid);
    CHECK(pid.error().code == util::Errc::not_found);
    auto ok = launcher.spawn({"/bin/true"});
    REQUIRE(ok);
    std::optional<int> status;
    for (int i = 0; i < 500 && !status; ++i) {
        status = launcher.try_reap(*ok);
        if (!status) {
            usleep(2000);
        }
    }
    CHECK(status == 0);
}

TEST_CASE("probe_tftp times out when nothing listens") {
    // 127.0.0.1 port 9 (discard) has no TFTP server: ICMP unreachable or silence.
    auto st = probe_tftp("127.0.0.1", 9, ".uhs-health", 100ms);
    CHECK_FALSE(st);
}
