// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/resolver.hpp"

#include <catch2/catch.hpp>

using namespace uhs;
using namespace uhs::apt;

namespace {

// Builds records from a compact Packages text (Filename/Size/SHA256 filled in).
std::vector<PackageRecord> records(std::string text) {
    std::string full;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find("\n\n", pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string stanza = text.substr(pos, end - pos);
        if (stanza.find("Architecture:") == std::string::npos) {
            stanza += "\nArchitecture: arm64";
        }
        full +=
            stanza + "\nFilename: pool/f.deb\nSize: 1\nSHA256: " + std::string(64, '0') + "\n\n";
        pos = end + 2;
    }
    auto parsed = parse_packages(full, "test");
    REQUIRE(parsed);
    return std::move(*parsed);
}

std::vector<std::string> names(const std::vector<const PackageRecord*>& set) {
    std::vector<std::string> out;
    for (const PackageRecord* r : set) {
        out.push_back(r->name + "=" + r->version);
    }
    return out;
}

using Names = std::vector<std::string>;

} // namespace

TEST_CASE("candidates are the highest version; other architectures are ignored",
          "[apt][resolver]") {
    Universe u(records("Package: a\nVersion: 1.0\n\nPackage: a\nVersion: 1.10\n\n"
                       "Package: a\nVersion: 2.0\nArchitecture: amd64"),
               "arm64");
    REQUIRE(u.candidate("a") != nullptr);
    CHECK(u.candidate("a")->version == "1.10");
}

TEST_CASE("depends, pre-depends, versions and the base set", "[apt][resolver]") {
    Universe u(records("Package: libc6\nVersion: 2.41\nPriority: required\n\n"
                       "Package: bash\nVersion: 5.2\nEssential: yes\nPriority: optional\n"
                       "Pre-Depends: libc6 (>= 2.36)\n\n"
                       "Package: hello\nVersion: 1\nDepends: libgreet (>= 2), libc6\n\n"
                       "Package: libgreet\nVersion: 2.1\n\n"
                       "Package: vim\nVersion: 9\nPriority: important"),
               "arm64");
    CHECK(base_packages(u, config::Variant::minbase) == Names{"bash", "libc6"});
    CHECK(base_packages(u, config::Variant::important) == Names{"bash", "libc6", "vim"});
    auto set = resolve(u, {"bash", "libc6", "hello"});
    REQUIRE(set);
    CHECK(names(*set) == Names{"bash=5.2", "hello=1", "libc6=2.41", "libgreet=2.1"});
}

TEST_CASE("alternatives prefer what is chosen, then the first installable", "[apt][resolver]") {
    Universe u(records("Package: app\nVersion: 1\nDepends: missing | b | c\n\n"
                       "Package: b\nVersion: 1\n\nPackage: c\nVersion: 1\n\n"
                       "Package: app2\nVersion: 1\nDepends: b | c"),
               "arm64");
    auto first = resolve(u, {"app"});
    REQUIRE(first);
    CHECK(names(*first) == Names{"app=1", "b=1"});
    auto chosen = resolve(u, {"c", "app2"});
    REQUIRE(chosen);
    CHECK(names(*chosen) == Names{"app2=1", "c=1"});
}

TEST_CASE("virtual packages and versioned provides", "[apt][resolver]") {
    Universe u(records("Package: app\nVersion: 1\nDepends: awk, libfoo-abi (>= 2)\n\n"
                       "Package: mawk\nVersion: 1\nProvides: awk\nPriority: required\n\n"
                       "Package: gawk\nVersion: 1\nProvides: awk\nPriority: optional\n\n"
                       "Package: foo-old\nVersion: 1\nProvides: libfoo-abi (= 1)\n\n"
                       "Package: foo-new\nVersion: 1\nProvides: libfoo-abi (= 3)\n\n"
                       "Package: foo-unversioned\nVersion: 1\nProvides: libfoo-abi"),
               "arm64");
    auto set = resolve(u, {"app"});
    REQUIRE(set);
    CHECK(names(*set) == Names{"app=1", "foo-new=1", "mawk=1"});
    auto virt = resolve(u, {"awk"});
    REQUIRE_FALSE(virt);
    CHECK(virt.error().message ==
          "package awk is a virtual package provided by gawk, mawk; request one of them");
}

TEST_CASE("multi-arch :any needs Multi-Arch: allowed, like dpkg", "[apt][resolver]") {
    Universe u(records("Package: a\nVersion: 1\nDepends: perl:any\n\n"
                       "Package: perl\nVersion: 5\nMulti-Arch: allowed\n\n"
                       "Package: b\nVersion: 1\nDepends: python:any\n\n"
                       "Package: python\nVersion: 3\n\n"
                       // dpkg's deparchsatisfied: foreign does not satisfy ":any".
                       "Package: c\nVersion: 1\nDepends: tool:any\n\n"
                       "Package: tool\nVersion: 1\nMulti-Arch: foreign"),
               "arm64");
    CHECK(resolve(u, {"a"}));
    auto b = resolve(u, {"b"});
    REQUIRE_FALSE(b);
    CHECK(b.error().message.find("b 1 : Depends: python:any") != std::string::npos);
    CHECK_FALSE(resolve(u, {"c"}));
}

TEST_CASE(":any through Provides follows the provider's Multi-Arch", "[apt][resolver]") {
    Universe u(records("Package: a\nVersion: 1\nDepends: awk:any\n\n"
                       "Package: mawk\nVersion: 1\nProvides: awk\nMulti-Arch: foreign\n\n"
                       "Package: b\nVersion: 1\nDepends: shell:any\n\n"
                       "Package: dash\nVersion: 1\nProvides: shell\nMulti-Arch: allowed\n\n"
                       "Package: c\nVersion: 1\nDepends: awk\n\n"
                       // ":any" in Conflicts applies whatever the Multi-Arch.
                       "Package: d\nVersion: 1\nConflicts: mawk:any\n\n"
                       "Package: e\nVersion: 1\nConflicts: awk:any"),
               "arm64");
    auto a = resolve(u, {"a"});
    REQUIRE_FALSE(a);
    CHECK(a.error().message.find("a 1 : Depends: awk:any") != std::string::npos);
    auto b = resolve(u, {"b"});
    REQUIRE(b);
    CHECK(names(*b) == Names{"b=1", "dash=1"});
    CHECK(resolve(u, {"c"})); // unqualified: any provider for this architecture
    CHECK_FALSE(resolve(u, {"d", "mawk"}));
    CHECK_FALSE(resolve(u, {"e", "mawk"}));
}

TEST_CASE("conflicts and breaks are respected", "[apt][resolver]") {
    Universe u(records("Package: app\nVersion: 1\nDepends: mta\n\n"
                       "Package: exim\nVersion: 1\nProvides: mta\nConflicts: mta\n\n"
                       "Package: postfix\nVersion: 1\nProvides: mta\nConflicts: mta\n\n"
                       "Package: old\nVersion: 1\nBreaks: app (<< 2)\n\n"
                       "Package: tool\nVersion: 1\nDepends: exim | postfix"),
               "arm64");
    auto ok = resolve(u, {"postfix", "app"});
    REQUIRE(ok);
    CHECK(names(*ok) == Names{"app=1", "postfix=1"});
    auto alt = resolve(u, {"postfix", "tool"});
    REQUIRE(alt);
    CHECK(names(*alt) == Names{"postfix=1", "tool=1"});
    auto clash = resolve(u, {"app", "old"});
    REQUIRE_FALSE(clash);
    CHECK(clash.error().message == "requested packages old and app conflict");
}

TEST_CASE("unsatisfiable dependencies are explained like apt", "[apt][resolver]") {
    Universe u(records("Package: top\nVersion: 1\nDepends: mid\n\n"
                       "Package: mid\nVersion: 1.0\nDepends: lib (>= 2)\n\n"
                       "Package: lib\nVersion: 1.5\n\n"
                       "Package: lone\nVersion: 1\nDepends: ghost"),
               "arm64");
    auto r = resolve(u, {"top"});
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "unsatisfiable dependency: mid 1.0 : Depends: lib (>= 2) but 1.5 "
                               "is to be installed (needed by top -> mid)");
    auto ghost = resolve(u, {"lone"});
    REQUIRE_FALSE(ghost);
    CHECK(ghost.error().message == "unsatisfiable dependency: lone 1 : Depends: ghost but it is "
                                   "not installable (needed by lone)");
    auto unknown = resolve(u, {"nope"});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message == "unable to locate package nope in any source for arm64");
}

TEST_CASE("resolution is deterministic", "[apt][resolver]") {
    std::string text = "Package: a\nVersion: 1\nDepends: x | y, z\n\nPackage: y\nVersion: 1\n\n"
                       "Package: x\nVersion: 1\nDepends: z\n\nPackage: z\nVersion: 1";
    Universe u1(records(text), "arm64");
    Universe u2(records(text), "arm64");
    auto r1 = resolve(u1, {"a"});
    auto r2 = resolve(u2, {"a"});
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(names(*r1) == names(*r2));
    CHECK(names(*r1) == Names{"a=1", "x=1", "z=1"});
}
