// SPDX-License-Identifier: Apache-2.0
// The seams under the APT client: bounded subprocesses and downloads into the store.
#include "builder/util/subprocess.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <chrono>

using namespace uhs;

TEST_CASE("a subprocess that outlives its timeout is killed", "[apt][subprocess]") {
    util::PosixCommandRunner runner;
    const auto started = std::chrono::steady_clock::now();
    auto slow = runner.run(
        util::Command{.argv = {"sleep", "30"}, .timeout = std::chrono::milliseconds(300)});
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(slow);
    CHECK(slow.error().code == util::Errc::timeout);
    CHECK(slow.error().message.find("sleep: killed after 300 ms") != std::string::npos);
    CHECK(took < std::chrono::seconds(10));
    // A child that closes its output early but keeps running is bounded too.
    auto quiet = runner.run(util::Command{.argv = {"sh", "-c", "exec >&- 2>&-; sleep 30"},
                                          .timeout = std::chrono::milliseconds(300)});
    REQUIRE_FALSE(quiet);
    CHECK(quiet.error().code == util::Errc::timeout);
    // Within the limit nothing changes.
    auto fast = runner.run(util::Command{.argv = {"sh", "-c", "echo hi; exit 3"},
                                         .timeout = std::chrono::seconds(20)});
    REQUIRE(fast);
    CHECK(fast->out == "hi\n");
    CHECK(fast->exit_code == 3);
}
