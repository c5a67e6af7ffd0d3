// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/version.hpp"

#include <catch2/catch.hpp>

using uhs::apt::compare_versions;
using uhs::apt::Relation;
using uhs::apt::satisfies;

namespace {
int sign(int v) {
    return v < 0 ? -1 : (v > 0 ? 1 : 0);
}
} // namespace

TEST_CASE("Debian versions order like dpkg", "[apt][version]") {
    struct Case {
        const char* a;
        const char* b;
        int expected;
    };
    const Case cases[] = {
        {"1.0", "1.0", 0},
        {"1.0", "1.0-0", 0},
        {"0:1.0", "1.0", 0},
        {"1.0", "1.1", -1},
        {"1.10", "1.9", 1},
        {"1.0~rc1", "1.0", -1},
        {"1.0~~", "1.0~", -1},
        {"1.0~", "1.0", -1},
        {"1.0", "1.0+b1", -1},
        {"1.0a", "1.0", 1},
        {"1.0a", "1.0+", -1}, // letters sort before other symbols
        {"1:0.1", "2.0", 1},
        {"10:1", "9:1", 1},
        {"2.41-1", "2.41-1+b1", -1},
        {"1.2.3-1", "1.2.3-1.1", -1},
        {"1.2-3", "1.2-10", -1},
        {"001", "1", 0},
        {"1.0-1~bpo12+1", "1.0-1", -1},
        {"9.7-3", "9.7-2+deb13u1", 1},
        {"1.31.2-1.1", "1.31.10-1.1", -1},
    };
    for (const Case& c : cases) {
        INFO(c.a << " vs " << c.b);
        CHECK(sign(compare_versions(c.a, c.b)) == c.expected);
        CHECK(sign(compare_versions(c.b, c.a)) == -c.expected);
    }
}

TEST_CASE("versioned relations", "[apt][version]") {
    CHECK(satisfies("2.41-1", Relation::ge, "2.34"));
    CHECK_FALSE(satisfies("2.30", Relation::ge, "2.34"));
    CHECK(satisfies("1.0", Relation::lt, "1.1"));
    CHECK_FALSE(satisfies("1.1", Relation::lt, "1.1"));
    CHECK(satisfies("1.1", Relation::le, "1.1"));
    CHECK(satisfies("1:1.0", Relation::gt, "2.0"));
    CHECK(satisfies("1.0", Relation::eq, "0:1.0-0"));
    CHECK(satisfies("anything", Relation::any, ""));
}
