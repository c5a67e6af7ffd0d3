// SPDX-License-Identifier: Apache-2.0
#include "netboot/logfmt.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace uhs::netboot;

TEST_CASE("logfmt values from the network cannot forge lines or escapes") {
    CHECK(logfmt_value("10000001/config.txt") == "10000001/config.txt");
    CHECK(logfmt_value("") == "\"\"");
    CHECK(logfmt_value("a b") == "\"a b\"");
    CHECK(logfmt_value("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(logfmt_value("x\ny level=error event=forged") == "\"x\\x0ay level=error event=forged\"");
    CHECK(logfmt_value("\r\x1b[2J\x7f") == "\"\\x0d\\x1b[2J\\x7f\"");
    CHECK(logfmt_value("\xff\xfe") == "\"\\xff\\xfe\"");

    std::ostringstream out;
    Logger log(out);
    log("info", "tftpd", "message", std::string("RRQ\nts=0 level=error"), "pid", 7);
    const std::string line = out.str();
    CHECK(line.find('\n') == line.size() - 1); // one line, whatever the value held
    CHECK(line.find("message=\"RRQ\\x0ats=0 level=error\" pid=7\n") != std::string::npos);
}

TEST_CASE("per-packet log lines are rate limited") {
    LogRateLimit limit(10, 5);
    const auto t0 = LogRateLimit::Clock::time_point{} + std::chrono::hours(1);
    int allowed = 0;
    for (int i = 0; i < 1000; ++i) {
        allowed += limit.allow(t0) ? 1 : 0; // a flood in one instant: the burst only
    }
    CHECK(allowed == 5);
    CHECK(limit.take_suppressed() == 995);
    CHECK(limit.take_suppressed() == 0);
    // One second later, ten more.
    allowed = 0;
    for (int i = 0; i < 100; ++i) {
        allowed += limit.allow(t0 + std::chrono::seconds(1)) ? 1 : 0;
    }
    CHECK(allowed == 5); // refilled to the burst cap, not beyond
    CHECK(limit.allow(t0 + std::chrono::milliseconds(1100)));
}
