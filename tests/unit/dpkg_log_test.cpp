// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/dpkg_log.hpp"

#include <catch2/catch.hpp>

using namespace uhs;

namespace {

// dpkg's own lines for two packages (as dpkg 1.22 writes /var/log/dpkg.log), a second run,
// and lines that are no records.
const char* const k_log = R"(2026-12-08 00:05:57 startup archives install
2026-12-08 00:05:58 install gcc-14-base:arm64 <none> 14.2.0-19
2026-12-08 00:05:58 status half-installed gcc-14-base:arm64 14.2.0-19
2026-12-08 00:06:00 status unpacked gcc-14-base:arm64 14.2.0-19
2026-12-08 00:06:03 install udev:arm64 <none> 257.9-1
2026-12-08 00:06:04 status half-installed udev:arm64 257.9-1
2026-12-08 00:06:06 status unpacked udev:arm64 257.9-1
2026-12-08 00:06:06 status triggers-pending man-db:arm64 2.13.1-1
2026-12-08 00:06:06 startup packages configure
2026-12-08 00:06:07 configure gcc-14-base:arm64 14.2.0-19 <none>
2026-12-08 00:06:07 status half-configured gcc-14-base:arm64 14.2.0-19
2026-12-08 00:06:08 status installed gcc-14-base:arm64 14.2.0-19
2026-12-08 00:06:08 configure udev:arm64 257.9-1 <none>
2026-12-08 00:06:10 status half-configured udev:arm64 257.9-1
2026-12-08 00:07:07 status installed udev:arm64 257.9-1
2026-12-08 00:07:07 trigproc man-db:arm64 2.13.1-1 <none>
2026-12-08 00:07:09 status installed man-db:arm64 2.13.1-1
2026-12-08 09:00:00 startup archives install
2026-12-08 09:00:01 conffile /etc/motd keep
Selecting previously unselected package udev.
2026-12-08 09:00:0
)";

} // namespace

TEST_CASE("dpkg log: each line's time goes to its package and part") {
    const auto summary = rootfs::summarize_dpkg_log(k_log);
    // gcc-14-base: install 1 s after startup, unpacked 2 s later; udev: 3 s to its install,
    // 1 + 2 to unpacked; the configure run's startup starts no clock.
    CHECK(summary.prepare == 4);
    CHECK(summary.unpack == 5);
    // gcc 1 + 1 (configure line after startup, then installed), udev 0 + 2 + 57.
    CHECK(summary.configure == 61);
    // man-db's trigger: 0 pending, 0 to trigproc, then 2 s of its postinst's trigger run.
    CHECK(summary.triggers == 2);
    CHECK(summary.total() == 72);
    REQUIRE(summary.packages.size() == 3);
    CHECK(summary.packages[0].package == "udev");
    CHECK(summary.packages[0].prepare == 3);
    CHECK(summary.packages[0].unpack == 3);
    CHECK(summary.packages[0].configure == 59);
    CHECK(summary.packages[1].package == "gcc-14-base");
    CHECK(summary.packages[1].total() == 5);
    CHECK(summary.packages[2].package == "man-db");
    CHECK(summary.packages[2].triggers == 2);
    CHECK(summary.packages[2].configure == 0);
    CHECK(rootfs::format_dpkg_summary(summary, 2) ==
          "configure 61 s (udev 59, gcc-14-base 2), prepare 4 s, unpack 5 s, triggers 2 s");
}

TEST_CASE("dpkg log: a gap between two runs and time going back count nothing") {
    const auto summary =
        rootfs::summarize_dpkg_log("2026-12-08 10:00:00 install a:arm64 <none> 1\n"
                                   "2026-12-08 09:00:00 status unpacked a:arm64 1\n"
                                   "2026-12-08 11:00:00 startup archives unpack\n"
                                   "2026-12-08 11:00:02 install b:all <none> 1\n");
    CHECK(summary.total() == 2);
    CHECK(summary.prepare == 2);
    CHECK(rootfs::summarize_dpkg_log("").packages.empty());
    CHECK(rootfs::format_dpkg_summary(rootfs::summarize_dpkg_log("")) ==
          "configure 0 s, prepare 0 s, unpack 0 s, triggers 0 s");
}
