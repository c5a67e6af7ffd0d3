// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/control.hpp"
#include "builder/apt/deb822.hpp"
#include "builder/apt/host_sources.hpp"
#include "builder/apt/lockfile.hpp"
#include "builder/apt/release.hpp"
#include "builder/apt/verify.hpp"
#include "builder/util/fs.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace uhs;
using namespace uhs::apt;

namespace {
const std::string k_sha(64, 'a');
} // namespace

TEST_CASE("deb822 paragraphs, continuation lines and errors", "[apt][parse]") {
    auto p = parse_deb822("Package: a\nDescription: one\n two\n\n\nPackage: b\n", "x");
    REQUIRE(p);
    REQUIRE(p->size() == 2);
    CHECK((*p)[0].get("description") == "one\ntwo");
    CHECK((*p)[1].line == 6);
    auto bad = parse_deb822("Package: a\nnot a field\n", "Packages");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("Packages:2: expected"));
    CHECK_FALSE(parse_deb822(" continuation\n", "x"));
    auto commented = parse_deb822("# c\nTypes: deb\n", "s", Comments::allowed);
    REQUIRE(commented);
    CHECK(commented->front().get_or_empty("Types") == "deb");
}

TEST_CASE("relationship fields", "[apt][parse]") {
    auto groups =
        parse_relationships("libc6 (>= 2.34), perl:any, a | b (<< 2) [amd64] <!nocheck>, c (>>1)");
    REQUIRE(groups);
    REQUIRE(groups->size() == 4);
    CHECK((*groups)[0][0].relation == Relation::ge);
    CHECK((*groups)[0][0].version == "2.34");
    CHECK((*groups)[1][0].arch_qualifier == "any");
    REQUIRE((*groups)[2].size() == 2);
    CHECK((*groups)[2][1].to_string() == "b (<< 2)");
    CHECK((*groups)[3][0].relation == Relation::gt);
    CHECK_FALSE(parse_relationships("a (=> 1)"));
    CHECK_FALSE(parse_relationships("a (>= )"));
}

TEST_CASE("Packages stanzas", "[apt][parse]") {
    std::string text = "Package: mawk\nVersion: 1.3.4-1\nArchitecture: arm64\n"
                       "Source: mawk-src (1.3.4-0)\nMulti-Arch: foreign\nPriority: required\n"
                       "Provides: awk, x (= 2)\nDepends: libc6\nFilename: pool/m/mawk.deb\n"
                       "Size: 12\nSHA256: " +
                       k_sha + "\n";
    auto records = parse_packages(text, "P");
    REQUIRE(records);
    const PackageRecord& r = records->front();
    CHECK(r.source == "mawk-src");
    CHECK(r.source_version == "1.3.4-0");
    CHECK(r.multi_arch == MultiArch::foreign);
    CHECK(r.priority == Priority::required);
    REQUIRE(r.provides.size() == 2);
    CHECK(r.provides[1].version == "2");
    CHECK(r.size == 12);
    auto missing = parse_packages("Package: a\nVersion: 1\nArchitecture: all\nFilename: f\n"
                                  "Size: 1\n",
                                  "P");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "P:1: SHA256: missing or not 64 hex digits");
}

TEST_CASE("Packages fields that reach the lock must follow Debian's grammar", "[apt][parse]") {
    auto stanza = [](std::string package, std::string version, std::string filename,
                     std::string extra = "") {
        return "Package: " + package + "\nVersion: " + version +
               "\nArchitecture: arm64\nFilename: " + filename + "\nSize: 1\nSHA256: " + k_sha +
               "\n" + extra;
    };
    CHECK(parse_packages(stanza("libstdc++6", "1:12.2.0-14+deb12u1~x", "pool/main/g/gcc/l.deb"),
                         "P"));
    CHECK(parse_packages(stanza("a", "1.0", "a.deb", "Source: a-src (1:1.0-1)\n"), "P"));
    // A continuation line would become a line of its own in the lock.
    auto injected = parse_packages(
        stanza("hello", "1.0\n package evil 1 arm64 source=x from=debian path=x size=1", "h.deb"),
        "P");
    REQUIRE_FALSE(injected);
    CHECK(injected.error().message.starts_with("P:1: Version: invalid version"));
    for (const char* bad_version : {"1.0 2", "a:1", "1.0-", "1_0", ":1"}) {
        CHECK_FALSE(parse_packages(stanza("hello", bad_version, "h.deb"), "P"));
    }
    for (const char* bad_name : {"Hello", "-x", "a b", "a/b", "a=b"}) {
        CHECK_FALSE(parse_packages(stanza(bad_name, "1", "h.deb"), "P"));
    }
    auto traversal = parse_packages(stanza("hello", "1", "pool/../../etc/passwd"), "P");
    REQUIRE_FALSE(traversal);
    CHECK(traversal.error().message.starts_with("P:1: Filename: path"));
    auto absolute = parse_packages(stanza("hello", "1", "/etc/passwd"), "P");
    REQUIRE_FALSE(absolute);
    CHECK(absolute.error().message.find("absolute path") != std::string::npos);
    for (const char* bad_path : {"pool//a.deb", "./a.deb", "a b.deb", "a=b.deb", "pool/\x01"}) {
        CHECK_FALSE(parse_packages(stanza("hello", "1", bad_path), "P"));
    }
    CHECK_FALSE(parse_packages(stanza("hello", "1", "h.deb", "Source: Bad Source\n"), "P"));
    CHECK_FALSE(parse_packages(stanza("hello", "1", "h.deb", "Source: s (1 2)\n"), "P"));
}

TEST_CASE("Release and clearsigned InRelease", "[apt][parse]") {
    std::string release = "Suite: trixie\nDate: Sat, 10 May 2025 08:49:51 UTC\n"
                          "Valid-Until: Sat, 17 May 2025 08:49:51 +0100\n"
                          "Acquire-By-Hash: yes\nSHA256:\n " +
                          k_sha + " 10 main/binary-arm64/Packages.xz\n";
    auto r = parse_release(release, "R");
    REQUIRE(r);
    CHECK(format_utc(r->date) == "2025-05-10T08:49:51Z");
    REQUIRE(r->valid_until);
    CHECK(format_utc(*r->valid_until) == "2025-05-17T07:49:51Z");
    CHECK(r->acquire_by_hash);
    CHECK(r->sha256.at("main/binary-arm64/Packages.xz").size == 10);
    CHECK_FALSE(r->not_automatic);
    CHECK_FALSE(r->but_automatic_upgrades);
    auto bpo = parse_release("Suite: trixie-backports\nDate: Sat, 10 May 2025 08:49:51 UTC\n"
                             "NotAutomatic: yes\nButAutomaticUpgrades: yes\n",
                             "R");
    REQUIRE(bpo);
    CHECK(bpo->not_automatic);
    CHECK(bpo->but_automatic_upgrades);
    CHECK(release_flag("Yes"));
    CHECK(release_flag("true"));
    CHECK(release_flag("1"));
    CHECK_FALSE(release_flag("no"));
    CHECK_FALSE(release_flag("0"));
    CHECK_FALSE(release_flag("maybe"));
    CHECK_FALSE(parse_release("Suite: x\n", "R"));
    CHECK_FALSE(parse_release("Date: yesterday\n", "R"));

    std::string signed_text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nSuite: x\n"
                              "- -dash\n-----BEGIN PGP SIGNATURE-----\nabc\n"
                              "-----END PGP SIGNATURE-----\n";
    auto body = clearsigned_body(signed_text);
    REQUIRE(body);
    CHECK(*body == "Suite: x\n-dash\n");
    CHECK_FALSE(clearsigned_body("Suite: x\n"));
}

TEST_CASE("host sources: one-line and deb822", "[apt][sources]") {
    auto one = parse_sources_list(
        "# comment\ndeb [arch=arm64 signed-by=/k/kube.gpg] http://x.invalid/k/ /\n"
        "deb-src http://mirror.invalid/debian trixie main\n"
        "deb http://mirror.invalid/debian trixie main contrib\n",
        "sources.list");
    REQUIRE(one);
    REQUIRE(one->size() == 2);
    CHECK((*one)[0].signed_by == "/k/kube.gpg");
    CHECK((*one)[0].uri == "http://x.invalid/k");
    CHECK((*one)[1].components.size() == 2);
    CHECK((*one)[1].origin == "sources.list:4");
    auto bad = parse_sources_list("deb http://x\n", "l");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("l:1: expected"));

    auto d = parse_sources_deb822("Types: deb deb-src\nURIs: http://mirror.invalid/debian\n"
                                  "Suites: trixie trixie-updates\nComponents: main\n"
                                  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                                  "Enabled: no\nTypes: deb\nURIs: http://off.invalid\n"
                                  "Suites: x\n",
                                  "d.sources");
    REQUIRE(d);
    REQUIRE(d->size() == 1);
    CHECK(d->front().suites.size() == 2);
}

TEST_CASE("uri: auto picks the host's entries through a fixture root", "[apt][sources]") {
    test::TestDir dir;
    auto apt_dir = dir.path() / "etc/apt/sources.list.d";
    std::filesystem::create_directories(apt_dir);
    REQUIRE(util::write_file_atomic(
        dir.path() / "etc/apt/sources.list",
        "deb http://security.invalid/debian-security trixie-security main\n"));
    REQUIRE(util::write_file_atomic(
        apt_dir / "debian.sources",
        "Types: deb\nURIs: http://mirror.invalid/debian/\nSuites: trixie\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"));
    REQUIRE(util::write_file_atomic(apt_dir / "kubernetes.list",
                                    "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] "
                                    "http://kube.invalid/core:/stable:/v1.31/deb/ /\n"));
    REQUIRE(util::write_file_atomic(apt_dir / "old.list.disabled", "garbage\n"));
    auto host = read_host_sources(dir.path());
    REQUIRE(host);
    CHECK(host->size() == 3);

    config::AptSource debian{.name = "debian",
                             .uri = "auto",
                             .suites = {"trixie"},
                             .keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"};
    CHECK(resolve_source_uri(debian, *host, {}) == "http://mirror.invalid/debian");
    config::AptSource kube{.name = "kubernetes",
                           .uri = "auto",
                           .suites = {"/"},
                           .keyring = "/cfg/keyrings/kubernetes-apt-keyring.gpg"};
    CHECK(resolve_source_uri(kube, *host, {}) == "http://kube.invalid/core:/stable:/v1.31/deb");
    auto overrides = parse_source_overrides({"kubernetes=http://local.invalid/k/"});
    REQUIRE(overrides);
    CHECK(resolve_source_uri(kube, *host, *overrides) == "http://local.invalid/k");
    config::AptSource other{
        .name = "other", .uri = "auto", .suites = {"/"}, .keyring = "/cfg/other.gpg"};
    auto none = resolve_source_uri(other, *host, {});
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("pass --source other=URI") != std::string::npos);
    CHECK_FALSE(parse_source_overrides({"noequals"}));
}

TEST_CASE("uri: auto finds the Debian security archive for *-security suites", "[apt][sources]") {
    test::TestDir dir;
    auto apt_dir = dir.path() / "etc/apt/sources.list.d";
    std::filesystem::create_directories(apt_dir);
    const std::string debian_key = "/usr/share/keyrings/debian-archive-keyring.gpg";
    // Debian's own layout: one deb822 file, the mirror first, the security archive second.
    REQUIRE(util::write_file_atomic(
        apt_dir / "debian.sources",
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie trixie-updates\n"
        "Components: main\nSigned-By: " +
            debian_key +
            "\n\n"
            "Types: deb\nURIs: http://security.invalid/debian-security/\n"
            "Suites: trixie-security\nComponents: main\nSigned-By: " +
            debian_key + "\n"));
    auto host = read_host_sources(dir.path());
    REQUIRE(host);
    config::AptSource debian{.name = "debian",
                             .uri = "auto",
                             .suites = {"trixie", "trixie-backports"},
                             .keyring = debian_key};
    CHECK(resolve_source_uri(debian, *host, {}) == "http://mirror.invalid/debian");
    config::AptSource security{
        .name = "security", .uri = "auto", .suites = {"trixie-security"}, .keyring = debian_key};
    CHECK(resolve_source_uri(security, *host, {}) == "http://security.invalid/debian-security");

    // The one-line format, security first: still each to its own.
    auto one_line =
        parse_sources_list("deb [signed-by=" + debian_key +
                               "] https://security.invalid/debian-security "
                               "trixie-security main\n"
                               "deb [signed-by=" +
                               debian_key + "] https://mirror.invalid/debian trixie main\n",
                           "sources.list");
    REQUIRE(one_line);
    CHECK(resolve_source_uri(debian, *one_line, {}) == "https://mirror.invalid/debian");
    CHECK(resolve_source_uri(security, *one_line, {}) ==
          "https://security.invalid/debian-security");

    // No security entry (or only an unsigned one): an error saying what to pass.
    auto mirror_only =
        parse_sources_list("deb http://security.invalid/debian-security trixie-security main\n"
                           "deb [signed-by=" +
                               debian_key + "] https://mirror.invalid/debian trixie main\n",
                           "l");
    REQUIRE(mirror_only);
    auto none = resolve_source_uri(security, *mirror_only, {});
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("no Debian security entry") != std::string::npos);
    CHECK(none.error().message.find("pass --source security=URI") != std::string::npos);

    // One source cannot hold both: they are different archives.
    config::AptSource mixed{.name = "mixed",
                            .uri = "auto",
                            .suites = {"trixie", "trixie-security"},
                            .keyring = debian_key};
    auto refused = resolve_source_uri(mixed, *host, {});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("source of their own") != std::string::npos);
}

TEST_CASE("uri: auto takes only a Debian-signed http/https/file entry", "[apt][sources]") {
    const std::string debian_key = "/usr/share/keyrings/debian-archive-keyring.gpg";
    auto host = parse_sources_list(
        // An unsigned third-party entry first: it must not be taken for the Debian mirror.
        "deb http://thirdparty.invalid/repo trixie main\n"
        // Schemes only apt's own methods can fetch.
        "deb [signed-by=" +
            debian_key +
            "] mirror+file:/etc/apt/mirrors/debian.list trixie main\n"
            "deb [signed-by=" +
            debian_key +
            "] cdrom:[Debian GNU/Linux 13]/ trixie main\n"
            "deb [signed-by=" +
            debian_key +
            "] tor+http://onion.invalid/debian trixie main\n"
            "deb [signed-by=/k/kubernetes.gpg] tor+https://kube.invalid/deb/ /\n"
            "deb [signed-by=/k/kubernetes.gpg] https://kube.invalid/deb/ /\n"
            "deb [signed-by=" +
            debian_key + "] https://mirror.invalid/debian trixie main\n",
        "sources.list");
    REQUIRE(host);
    config::AptSource debian{
        .name = "debian", .uri = "auto", .suites = {"trixie"}, .keyring = debian_key};
    CHECK(resolve_source_uri(debian, *host, {}) == "https://mirror.invalid/debian");
    config::AptSource kube{
        .name = "kubernetes", .uri = "auto", .suites = {"/"}, .keyring = "/c/kubernetes.gpg"};
    CHECK(resolve_source_uri(kube, *host, {}) == "https://kube.invalid/deb");
    // Only unsigned or unfetchable entries: no match, and the error says what to do.
    auto unsigned_only =
        parse_sources_list("deb http://thirdparty.invalid/repo trixie main\n"
                           "deb [signed-by=" +
                               debian_key + "] mirror+http://m.invalid/list trixie main\n",
                           "l");
    REQUIRE(unsigned_only);
    auto none = resolve_source_uri(debian, *unsigned_only, {});
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("pass --source debian=URI") != std::string::npos);
}

TEST_CASE("armored keys are dearmored with their CRC24 checked", "[apt][verify]") {
    // "hello" in base64 is aGVsbG8=; CRC24("hello") = 0x47F58A -> "R/WK".
    std::string armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: x\n\naGVsbG8=\n=R/WK\n"
                          "-----END PGP PUBLIC KEY BLOCK-----\n";
    auto binary = dearmor(armored);
    REQUIRE(binary);
    CHECK(*binary == "hello");
    std::string corrupt = armored;
    corrupt.replace(corrupt.find("aGVs"), 4, "aGVt");
    auto bad = dearmor(corrupt);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "armor checksum mismatch");
    CHECK_FALSE(dearmor("no key here"));
}

namespace {
class FakeRunner final : public util::CommandRunner {
public:
    util::CommandOutput answer;
    std::vector<util::Command> calls;
    util::Result<util::CommandOutput> run(const util::Command& command) override {
        calls.push_back(command);
        return answer;
    }
};
} // namespace

TEST_CASE("gpgv verification fails closed", "[apt][verify]") {
    test::TestDir dir;
    REQUIRE(util::write_file_atomic(dir.path() / "k.gpg", "\x99"
                                                          "binary"));
    FakeRunner runner;
    runner.answer = {1, "[GNUPG:] BADSIG 1234 someone\n", ""};
    auto bad = verify_clearsigned(runner, dir.path() / "k.gpg", "text", "src InRelease");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::Errc::integrity);
    CHECK(bad.error().message == "src InRelease: signature verification failed: bad signature");
    REQUIRE(runner.calls.size() == 1);
    CHECK(runner.calls[0].argv[0] == "gpgv");
    // gpgv is bounded: a hung one cannot stall `lock` forever.
    REQUIRE(runner.calls[0].timeout);
    CHECK(*runner.calls[0].timeout <= std::chrono::minutes(2));
    // Exit 0 without VALIDSIG is still a failure.
    runner.answer = {0, "", ""};
    CHECK_FALSE(verify_clearsigned(runner, dir.path() / "k.gpg", "text", "x"));
    auto missing = verify_clearsigned(runner, dir.path() / "none.gpg", "text", "x");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == util::Errc::not_found);
}

TEST_CASE("gpgv status: one good signature is enough, bad or weak ones are not", "[apt][verify]") {
    // Status lines as gpgv 2.2 prints them (captured from real runs).
    const std::string good_a =
        "[GNUPG:] NEWSIG\n[GNUPG:] KEY_CONSIDERED 9314623C06886F2AF98AE9296DF10F54CB624A19 0\n"
        "[GNUPG:] GOODSIG 6DF10F54CB624A19 a <a@x.invalid>\n"
        "[GNUPG:] VALIDSIG 9314623C06886F2AF98AE9296DF10F54CB624A19 2026-12-01 1796137066 0 4 0 "
        "22 8 01 9314623C06886F2AF98AE9296DF10F54CB624A19\n";
    const std::string unknown_b =
        "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 32A2D84CA5C23D5F 22 8 01 1796137066 9 "
        "68877F9936EA92C29D86E4CC32A2D84CA5C23D5F\n[GNUPG:] NO_PUBKEY 32A2D84CA5C23D5F\n";
    const std::string bad_b = "[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 32A2D84CA5C23D5F b <b@x.invalid>\n";
    const std::string sha1_b =
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 32A2D84CA5C23D5F b <b@x.invalid>\n"
        "[GNUPG:] VALIDSIG 68877F9936EA92C29D86E4CC32A2D84CA5C23D5F 2026-12-01 1796137066 0 4 0 "
        "22 2 01 68877F9936EA92C29D86E4CC32A2D84CA5C23D5F\n";
    const std::string plaintext = "[GNUPG:] PLAINTEXT 74 0 \n";

    CHECK(judge_gpgv_status(plaintext + good_a, 0).accepted);
    // Two signatures, the second by a key we do not have: gpgv exits 2, apt accepts.
    CHECK(judge_gpgv_status(plaintext + good_a + unknown_b, 2).accepted);
    CHECK(judge_gpgv_status(plaintext + unknown_b + good_a, 2).accepted);
    // Exit 2 without a missing key to explain it is not understood: rejected.
    CHECK_FALSE(judge_gpgv_status(plaintext + good_a, 2).accepted);
    CHECK_FALSE(judge_gpgv_status(plaintext + good_a, 1).accepted);
    auto only_unknown = judge_gpgv_status(plaintext + unknown_b, 2);
    CHECK_FALSE(only_unknown.accepted);
    CHECK(only_unknown.reason == k_unknown_key);
    auto bad = judge_gpgv_status(plaintext + good_a + bad_b, 1);
    CHECK_FALSE(bad.accepted);
    CHECK(bad.reason == "bad signature");
    // SHA-1 signatures are worthless; alone they fail, beside a good one they are ignored.
    auto weak = judge_gpgv_status(plaintext + sha1_b, 0);
    CHECK_FALSE(weak.accepted);
    CHECK(weak.reason.find("weak digest") != std::string::npos);
    CHECK(judge_gpgv_status(plaintext + good_a + sha1_b, 0).accepted);
    for (const char* keyword : {"EXPSIG", "EXPKEYSIG", "REVKEYSIG"}) {
        std::string block = std::string("[GNUPG:] NEWSIG\n[GNUPG:] ") + keyword +
                            " 32A2D84CA5C23D5F b <b@x.invalid>\n";
        CHECK_FALSE(judge_gpgv_status(good_a + block, 0).accepted);
    }
    // An expired key is named, so lock can say which key of the keyring and when.
    auto expired = judge_gpgv_status(
        good_a + "[GNUPG:] NEWSIG\n[GNUPG:] EXPKEYSIG 32A2D84CA5C23D5F b <b@x.invalid>\n", 0);
    CHECK(expired.reason == k_expired_key);
    CHECK(expired.expired_key == "32A2D84CA5C23D5F");
    // An ERRSIG other than "no public key" (rc 4: unknown algorithm) fails the whole file.
    CHECK_FALSE(judge_gpgv_status(
                    good_a + "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 32A2D84CA5C23D5F 99 8 01 1 4\n", 2)
                    .accepted);
    // GOODSIG without VALIDSIG, and no status at all.
    CHECK_FALSE(
        judge_gpgv_status("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 6DF10F54CB624A19 a\n", 0).accepted);
    CHECK(judge_gpgv_status("[GNUPG:] NODATA 1\n", 2).reason == "not signed");
    CHECK_FALSE(judge_gpgv_status("", 0).accepted);
}

TEST_CASE("lock files round-trip sorted and reject garbage", "[apt][lock]") {
    LockFile lock;
    lock.request_sha256 = k_sha;
    lock.architecture = "arm64";
    lock.sources = {{"kubernetes", "/", "2025-01-01T00:00:00Z", k_sha},
                    {"debian", "trixie", "2025-01-02T00:00:00Z", k_sha}};
    lock.packages = {{"zlib1g", "1:1.3", "arm64", "zlib", "debian", "pool/z.deb", 5, k_sha},
                     {"bash", "5.2-1", "arm64", "bash", "debian", "pool/b.deb", 7, k_sha}};
    std::string text = format_lock(lock);
    CHECK(text.find("source debian trixie") < text.find("source kubernetes /"));
    CHECK(text.find("package bash 5.2-1") < text.find("package zlib1g"));
    auto parsed = parse_lock(text, "x.lock");
    REQUIRE(parsed);
    CHECK(format_lock(*parsed) == text);
    CHECK(parsed->packages[1].version == "1:1.3");
    auto bad = parse_lock(text + "package broken\n", "x.lock");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("x.lock:"));
    CHECK_FALSE(parse_lock("hello\n", "x.lock"));
    // A hand-edited lock is held to the same grammar.
    std::string traversal = text;
    traversal.replace(traversal.find("path=pool/b.deb"), 15, "path=../../b.deb");
    auto escaped = parse_lock(traversal, "x.lock");
    REQUIRE_FALSE(escaped);
    CHECK(escaped.error().message.find("path=: path") != std::string::npos);
    std::string bad_version = text;
    bad_version.replace(bad_version.find("5.2-1"), 5, "5.2-!");
    CHECK_FALSE(parse_lock(bad_version, "x.lock"));
    std::string bad_date = text;
    bad_date.replace(bad_date.find("2025-01-02T00:00:00Z"), 20, "yesterday");
    CHECK_FALSE(parse_lock(bad_date, "x.lock"));
    // A line of spaces is an error naming the file and line, not an exception.
    auto blank = parse_lock("format 1\n   \n", "x.lock");
    REQUIRE_FALSE(blank);
    CHECK(blank.error().message.starts_with("x.lock:2: blank line"));

    config::Image image;
    image.packages = {"a"};
    std::string digest = request_digest(image);
    image.packages.push_back("b");
    CHECK(request_digest(image) != digest);
    // Selecting a suite, and every part of a pin, changes the request.
    digest = request_digest(image);
    image.kernel = "linux-image-arm64/trixie-backports";
    CHECK(request_digest(image) != digest);
    digest = request_digest(image);
    config::Pin pin;
    pin.packages = {"openssh-*"};
    pin.suite = "trixie-backports";
    pin.priority = 990;
    image.pins.push_back(pin);
    CHECK(request_digest(image) != digest);
    digest = request_digest(image);
    image.pins.back().priority = 500;
    CHECK(request_digest(image) != digest);
    digest = request_digest(image);
    image.pins.back().packages = {"openssh-server"};
    CHECK(request_digest(image) != digest);
}
