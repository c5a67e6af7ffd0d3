// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/dpkg_db.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

rootfs::DpkgPackage package(std::vector<std::pair<std::string, std::string>> control) {
    rootfs::DpkgPackage p;
    p.control = std::move(control);
    return p;
}

unsigned mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

} // namespace

TEST_CASE("status stanzas list fields in dpkg's order, unknown fields last in control order") {
    auto p = package({
        {"Description", "a tool\nlonger text\n."},
        {"Homepage", "https://example.invalid"},
        {"Depends", "libc6 (>= 2.36)"},
        {"Version", "1.2-3"},
        {"Package", "tool"},
        {"Architecture", "arm64"},
        {"Essential", "yes"},
        {"Maintainer", "uhs tests <test@uhs.invalid>"},
        {"Installed-Size", "42"},
        {"Pre-Depends", "dpkg"},
        {"X-Custom", "kept"},
    });
    p.status = "install ok installed";
    p.conffiles = {{"/etc/tool.conf", "0123456789abcdef0123456789abcdef"}};
    CHECK(rootfs::format_status_stanza(p) == "Package: tool\n"
                                             "Essential: yes\n"
                                             "Status: install ok installed\n"
                                             "Installed-Size: 42\n"
                                             "Maintainer: uhs tests <test@uhs.invalid>\n"
                                             "Architecture: arm64\n"
                                             "Version: 1.2-3\n"
                                             "Depends: libc6 (>= 2.36)\n"
                                             "Pre-Depends: dpkg\n"
                                             "Conffiles:\n"
                                             " /etc/tool.conf 0123456789abcdef0123456789abcdef\n"
                                             "Description: a tool\n"
                                             " longer text\n"
                                             " .\n"
                                             "Homepage: https://example.invalid\n"
                                             "X-Custom: kept\n");
}

TEST_CASE("the dpkg database: sorted status, info files, arch and available") {
    test::TestDir dir;
    const fs::path root = dir.path();
    rootfs::DpkgDatabase db;
    db.architecture = "arm64";
    auto b = package({{"Package", "bbb"}, {"Version", "1"}, {"Architecture", "arm64"}});
    b.paths = {"/.", "/usr", "/usr/bin", "/usr/bin/bbb"};
    b.control_files = {{"postinst", "#!/bin/sh\nexit 0\n"},
                       {"md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/bin/bbb\n"},
                       {"control", "ignored"}};
    auto a = package(
        {{"Package", "aaa"}, {"Version", "2"}, {"Architecture", "arm64"}, {"Multi-Arch", "same"}});
    a.paths = {"/.", "/usr/lib/aaa.so"};
    a.status = "install ok installed";
    db.packages = {b, a};
    REQUIRE(rootfs::write_dpkg_database(root, db));

    const fs::path dpkg = root / "var/lib/dpkg";
    CHECK(*util::read_file(dpkg / "status") ==
          "Package: aaa\nStatus: install ok installed\nArchitecture: arm64\nMulti-Arch: same\n"
          "Version: 2\n\n"
          "Package: bbb\nStatus: install ok unpacked\nArchitecture: arm64\nVersion: 1\n\n");
    CHECK(*util::read_file(dpkg / "arch") == "arm64\n");
    CHECK(*util::read_file(dpkg / "available") == "");
    CHECK(*util::read_file(dpkg / "info/bbb.list") == "/.\n/usr\n/usr/bin\n/usr/bin/bbb\n");
    CHECK(*util::read_file(dpkg / "info/aaa:arm64.list") == "/.\n/usr/lib/aaa.so\n");
    CHECK(mode_of(dpkg / "info/bbb.postinst") == 0755);
    CHECK(mode_of(dpkg / "info/bbb.md5sums") == 0644);
    CHECK_FALSE(fs::exists(dpkg / "info/bbb.control"));
    for (const char* sub : {"updates", "triggers", "alternatives"}) {
        CHECK(fs::is_directory(dpkg / sub));
    }
    const auto status = rootfs::read_dpkg_status(root);
    REQUIRE(status);
    CHECK(*status == std::map<std::string, std::string>{{"aaa", "install ok installed"},
                                                        {"bbb", "install ok unpacked"}});
}

TEST_CASE("the empty database is what the target's dpkg starts from") {
    test::TestDir dir;
    REQUIRE(rootfs::write_dpkg_database(dir.path(), {"arm64", {}}));
    CHECK(*util::read_file(dir.path() / "var/lib/dpkg/status") == "");
    CHECK(rootfs::read_dpkg_status(dir.path())->empty());
}

TEST_CASE("a package without a name is refused") {
    test::TestDir dir;
    auto nameless = package({{"Version", "1"}});
    auto written = rootfs::write_dpkg_database(dir.path(), {"arm64", {nameless}});
    REQUIRE_FALSE(written);
    CHECK(written.error().message.find("without a Package field") != std::string::npos);
}
