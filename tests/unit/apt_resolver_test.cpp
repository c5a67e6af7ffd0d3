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

namespace {

// Records of several suites: `suites[i]` is the Packages text of origin i.
std::vector<PackageRecord> suite_records(const std::vector<std::string>& suites) {
    std::vector<PackageRecord> out;
    for (std::size_t i = 0; i < suites.size(); ++i) {
        for (PackageRecord& r : records(suites[i])) {
            r.origin = i;
            // Distinct .debs, so equal versions in two suites stay two versions.
            r.sha256 = std::string(63, '0') + static_cast<char>('0' + i);
            out.push_back(std::move(r));
        }
    }
    return out;
}

const ReleaseInfo k_trixie{"trixie", "trixie", false, false};
const ReleaseInfo k_backports{"trixie-backports", "trixie-backports", true, true};

config::Pin pin(std::vector<std::string> packages, std::string suite, int priority) {
    config::Pin p;
    p.packages = std::move(packages);
    p.suite = std::move(suite);
    p.priority = priority;
    return p;
}

const std::string k_main_suite = "Package: libc6\nVersion: 2.41\nPriority: required\n\n"
                                 "Package: kmod\nVersion: 34\nDepends: libc6\n\n"
                                 "Package: linux-base\nVersion: 4.12\n\n"
                                 "Package: kernel\nVersion: 6.12\n"
                                 "Depends: kmod, linux-base (>= 4.3)\n\n"
                                 "Package: ssh\nVersion: 1:10.0\nDepends: libc6";
const std::string k_backports_suite = "Package: linux-base\nVersion: 4.17~bpo\n\n"
                                      "Package: kmod\nVersion: 35~bpo\nDepends: libc6\n\n"
                                      "Package: kernel\nVersion: 7.3~bpo\n"
                                      "Depends: kmod, linux-base (>= 4.17~bpo)\n\n"
                                      "Package: ssh\nVersion: 1:10.3~bpo\nDepends: libc6\n\n"
                                      "Package: only-here\nVersion: 1~bpo";

} // namespace

TEST_CASE("apt's default priorities: NotAutomatic 1, ButAutomaticUpgrades 100, else 500",
          "[apt][policy]") {
    CHECK(default_priority({"trixie", "trixie", false, false}) == 500);
    CHECK(default_priority({"experimental", "rc-buggy", true, false}) == 1);
    CHECK(default_priority({"trixie-backports", "trixie-backports", true, true}) == 100);
    // pkgPolicy::InitDefaults checks ButAutomaticUpgrades on its own.
    CHECK(default_priority({"odd", "odd", false, true}) == 100);
    CHECK(release_matches({"stable", "trixie", false, false}, "trixie"));
    CHECK(release_matches({"stable", "trixie", false, false}, "STABLE"));
    CHECK(release_matches({"trixie-backports", "trixie-backports", true, true}, "*-backports"));
    CHECK_FALSE(release_matches({"trixie", "trixie", false, false}, "trixie-backports"));
    CHECK(package_matches("linux-image-*", "linux-image-arm64"));
    CHECK_FALSE(package_matches("linux-image-*", "linux-base"));
}

TEST_CASE("a NotAutomatic suite gives nothing unasked but what only it has", "[apt][policy]") {
    Universe u(suite_records({k_main_suite, k_backports_suite}), "arm64",
               Policy({k_trixie, k_backports}, {}));
    CHECK(u.candidate("ssh")->version == "1:10.0");
    CHECK(u.candidate("kernel")->version == "6.12");
    CHECK(u.candidate("only-here")->version == "1~bpo");
    REQUIRE(u.versions("ssh").size() == 2);
    CHECK(u.versions("ssh")[0].priority == 100);
    CHECK(u.versions("ssh")[1].priority == 500);
    CHECK(u.in_release("ssh", "trixie-backports")->version == "1:10.3~bpo");
    CHECK(u.in_release("ssh", "trixie")->version == "1:10.0");
    CHECK(u.in_release("only-here", "trixie") == nullptr);
    CHECK(u.knows_release("trixie-backports"));
    CHECK_FALSE(u.knows_release("bookworm-backports"));
    // Without Release information every suite is 500: the highest version wins.
    Universe plain(suite_records({k_main_suite, k_backports_suite}), "arm64");
    CHECK(plain.candidate("ssh")->version == "1:10.3~bpo");
}

TEST_CASE("pins: first matching pin per version, a '*' pin sets the suite's priority",
          "[apt][policy]") {
    auto universe = [](std::vector<config::Pin> pins) {
        return Universe(suite_records({k_main_suite, k_backports_suite}), "arm64",
                        Policy({k_trixie, k_backports}, std::move(pins)));
    };
    {
        Universe u = universe({pin({"ss?"}, "trixie-backports", 990)});
        CHECK(u.candidate("ssh")->version == "1:10.3~bpo");
        CHECK(u.candidate("kmod")->version == "34");
    }
    {
        // The first pin naming a version decides it; a later one does not raise it again.
        Universe u =
            universe({pin({"ssh"}, "trixie-backports", 50), pin({"s*"}, "trixie-backports", 990)});
        CHECK(u.candidate("ssh")->version == "1:10.0");
        CHECK(u.versions("ssh")[0].priority == 50);
    }
    {
        // A pin on trixie applies to trixie's versions only.
        Universe u = universe({pin({"ssh"}, "trixie", 50)});
        CHECK(u.candidate("ssh")->version == "1:10.3~bpo"); // 100 beats 50
    }
    {
        Universe u = universe({pin({"*"}, "trixie-backports", 500)});
        CHECK(u.candidate("ssh")->version == "1:10.3~bpo");
        CHECK(u.candidate("kmod")->version == "35~bpo");
    }
    {
        // Equal priority: the higher version.
        Universe u = universe({pin({"*"}, "trixie", 100)});
        CHECK(u.candidate("ssh")->version == "1:10.3~bpo");
    }
    {
        // A negative priority keeps a version out; none left means no candidate at all.
        Universe u = universe({pin({"only-here"}, "trixie-backports", -1)});
        CHECK(u.candidate("only-here") == nullptr);
        auto r = resolve(u, {"only-here"});
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("no installation candidate") != std::string::npos);
    }
}

TEST_CASE("PKG/SUITE takes that suite's version and the versioned dependencies it needs",
          "[apt][resolver][policy]") {
    Universe u(suite_records({k_main_suite, k_backports_suite}), "arm64",
               Policy({k_trixie, k_backports}, {}));
    std::vector<config::PackageRequest> plain{{"libc6", ""}, {"ssh", ""}, {"kernel", ""}};
    auto set = resolve_requests(u, plain);
    REQUIRE(set);
    CHECK(names(*set) ==
          Names{"kernel=6.12", "kmod=34", "libc6=2.41", "linux-base=4.12", "ssh=1:10.0"});

    std::vector<config::PackageRequest> from_backports{
        {"libc6", ""}, {"ssh", ""}, {"kernel", "trixie-backports"}};
    set = resolve_requests(u, from_backports);
    REQUIRE(set);
    // linux-base (>= 4.17~bpo) cannot be met by trixie's 4.12: its candidate switches. kmod is
    // unversioned and trixie's kmod is installable: it stays, as does ssh.
    CHECK(names(*set) ==
          Names{"kernel=7.3~bpo", "kmod=34", "libc6=2.41", "linux-base=4.17~bpo", "ssh=1:10.0"});

    // The codename works as the suite does; a release without the package is an error.
    Universe stable(suite_records({k_main_suite, k_backports_suite}), "arm64",
                    Policy({{"stable", "trixie", false, false},
                            {"stable-backports", "trixie-backports", true, true}},
                           {}));
    set = resolve_requests(stable, from_backports);
    REQUIRE(set);
    CHECK(names(*set)[0] == "kernel=7.3~bpo");
    auto missing = resolve_requests(u, {{"only-here", "trixie"}});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("release 'trixie' for 'only-here' was not found") !=
          std::string::npos);
}

TEST_CASE("a candidate switch needs a versioned dependency; apt keeps switches that fail later",
          "[apt][resolver][policy]") {
    // tool's `helper` is unversioned and trixie's helper is not installable with what is
    // requested (its libfoo is not): apt's SetCandidateRelease cannot help an unversioned
    // dependency, stops, and keeps the linux-base switch it made before.
    const std::string main_suite = "Package: libc6\nVersion: 2.41\nPriority: required\n\n"
                                   "Package: libfoo\nVersion: 1\n\n"
                                   "Package: helper\nVersion: 1\nDepends: libfoo\n\n"
                                   "Package: linux-base\nVersion: 4.12\n\n"
                                   "Package: tool\nVersion: 1";
    const std::string bpo_suite = "Package: helper\nVersion: 2~bpo\nDepends: libfoo\n\n"
                                  "Package: linux-base\nVersion: 4.17~bpo\n\n"
                                  "Package: tool\nVersion: 2~bpo\n"
                                  "Depends: linux-base (>= 4.17~bpo), helper";
    Universe u(suite_records({main_suite, bpo_suite}), "arm64",
               Policy({k_trixie, k_backports}, {}));
    auto set = resolve_requests(u, {{"libc6", ""}, {"tool", "trixie-backports"}});
    REQUIRE(set);
    CHECK(names(*set) ==
          Names{"helper=1", "libc6=2.41", "libfoo=1", "linux-base=4.17~bpo", "tool=2~bpo"});
}
