// SPDX-License-Identifier: Apache-2.0
#include "netboot/tftp/observer.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace uhs::netboot::tftp;

TEST_CASE("in.tftpd syslog lines are parsed") {
    auto rrq = parse_tftpd_log(
        "<29>Nov 24 08:57:50 in.tftpd[23033]: RRQ from 127.0.0.1 filename 10000001/config.txt\n");
    REQUIRE(rrq);
    CHECK(rrq->kind == TftpdLogLine::Kind::rrq);
    CHECK(rrq->pid == 23033);
    CHECK(rrq->client == "127.0.0.1");
    CHECK(rrq->path == "10000001/config.txt");

    auto remapped = parse_tftpd_log("<29>Nov 24 08:57:50 in.tftpd[7]: RRQ from 10.0.0.5 filename "
                                    "a1//config.txt remapped to a1/config.txt");
    REQUIRE(remapped);
    CHECK(remapped->path == "a1/config.txt");

    auto nak = parse_tftpd_log(
        "<30>Nov 24 08:57:50 in.tftpd[23035]: sending NAK (1, File not found) to 127.0.0.1");
    REQUIRE(nak);
    CHECK(nak->kind == TftpdLogLine::Kind::nak);
    CHECK(nak->client == "127.0.0.1");

    CHECK_FALSE(parse_tftpd_log("<30>Nov 24 08:57:50 sshd[1]: hello"));
    CHECK_FALSE(parse_tftpd_log("in.tftpd[x]: RRQ"));
    CHECK_FALSE(parse_tftpd_log("in.tftpd[12"));
    CHECK(normalise_path("//a///b/c") == "a/b/c");
}

TEST_CASE("transfers are timed from RRQ to process exit") {
    TransferTracker t;
    const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::seconds(5);
    t.on_log(*parse_tftpd_log("in.tftpd[10]: RRQ from 1.2.3.4 filename d/kernel_2712.img"), 1000,
             t0);
    t.on_log(*parse_tftpd_log("in.tftpd[11]: RRQ from 1.2.3.4 filename d/nope"), 1000, t0);
    t.on_log(*parse_tftpd_log("in.tftpd[11]: sending NAK (1, File not found) to 1.2.3.4"), 1000,
             t0);
    std::set<pid_t> alive{10, 11};
    auto is_alive = [&](pid_t p) {
        return alive.count(p) > 0;
    };
    CHECK(t.finished(t0, is_alive).empty());
    alive.erase(11);
    auto done = t.finished(t0 + std::chrono::milliseconds(5), is_alive);
    REQUIRE(done.size() == 1);
    CHECK(done[0].first.not_found);
    alive.clear();
    done = t.finished(t0 + std::chrono::milliseconds(250), is_alive);
    REQUIRE(done.size() == 1);
    CHECK(done[0].first.path == "d/kernel_2712.img");
    CHECK(done[0].second == std::chrono::milliseconds(250));
    CHECK_FALSE(t.active());
}
