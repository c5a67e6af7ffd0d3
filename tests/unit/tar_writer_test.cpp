// SPDX-License-Identifier: Apache-2.0
#include "builder/image/tar_writer.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/locale.hpp"
#include "builder/util/sha256.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>
#include <utime.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

void make_tree(const fs::path& root, bool reversed) {
    // Create entries in a different order each time: the tar must not care.
    std::vector<std::string> names{"b.conf", "a.conf", "C.conf"};
    if (reversed) {
        std::reverse(names.begin(), names.end());
    }
    fs::create_directories(root / "etc");
    for (const auto& name : names) {
        REQUIRE(util::write_file_atomic(root / "etc" / name, name + "\n"));
    }
    fs::create_symlink("a.conf", root / "etc/link");
    fs::create_hard_link(root / "etc/a.conf", root / "etc/z-hard");
    ::chmod((root / "etc/b.conf").c_str(), 0600);
}

struct Listed {
    std::string name;
    la_int64_t mtime;
    std::string uname;
    std::string hardlink;
};

std::vector<Listed> list_tar(const fs::path& tar) {
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    REQUIRE(archive_read_open_filename(reader.get(), tar.c_str(), 1 << 16) == ARCHIVE_OK);
    std::vector<Listed> entries;
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        const char* uname = archive_entry_uname(entry);
        const char* hardlink = archive_entry_hardlink(entry);
        entries.push_back({archive_entry_pathname(entry), archive_entry_mtime(entry),
                           uname ? uname : "", hardlink ? hardlink : ""});
    }
    return entries;
}

} // namespace

TEST_CASE("the rootfs tar is sorted, clamped, numeric, and identical across creation orders") {
    test::TestDir dir;
    make_tree(dir.path() / "one", false);
    make_tree(dir.path() / "two", true);
    const image::TarOptions options{1700000000};
    auto one = image::write_tree_tar(dir.path() / "one", dir.path() / "one.tar", options);
    auto two = image::write_tree_tar(dir.path() / "two", dir.path() / "two.tar", options);
    REQUIRE(one);
    REQUIRE(two);
    CHECK(one->entries == 7);
    CHECK(*util::sha256_file_hex(dir.path() / "one.tar") ==
          *util::sha256_file_hex(dir.path() / "two.tar"));

    const auto entries = list_tar(dir.path() / "one.tar");
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
        CHECK(e.mtime == 1700000000); // the files are newer: clamped
        CHECK(e.uname.empty());
    }
    CHECK(names == std::vector<std::string>{"./", "./etc/", "./etc/C.conf", "./etc/a.conf",
                                            "./etc/b.conf", "./etc/link", "./etc/z-hard"});
    CHECK(entries.back().hardlink == "./etc/a.conf");
}

TEST_CASE("older mtimes are kept; newer ones are clamped") {
    test::TestDir dir;
    fs::create_directories(dir.path() / "t");
    REQUIRE(util::write_file_atomic(dir.path() / "t/old", "x"));
    struct utimbuf times {
        1000, 1000
    };
    ::utime((dir.path() / "t/old").c_str(), &times);
    REQUIRE(image::write_tree_tar(dir.path() / "t", dir.path() / "t.tar", {5000}));
    const auto entries = list_tar(dir.path() / "t.tar");
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].mtime == 5000);
    CHECK(entries[1].mtime == 1000);
}

TEST_CASE("a failed tar leaves no file behind") {
    test::TestDir dir;
    auto result = image::write_tree_tar(dir.path() / "missing", dir.path() / "out.tar", {0});
    REQUIRE_FALSE(result);
    CHECK(*util::list_dir_sorted(dir.path()) == std::vector<std::string>{});
}

TEST_CASE("UTF-8 names and link targets are written as their bytes, whatever the locale") {
    test::TestDir dir;
    const fs::path root = dir.path() / "root";
    const std::string name =
        "NetLock_Arany_=Class_Gold=_F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.pem";
    fs::create_directories(root / "certs");
    REQUIRE(util::write_file_atomic(root / "certs" / name, "pem\n"));
    fs::create_symlink(name, root / "certs/988a38cb.0");
    const fs::path tar = dir.path() / "out.tar";
    REQUIRE(image::write_tree_tar(root, tar, {1700000000}));
    const util::ScopedUtf8Locale utf8; // as the build reads its stage tars back
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    REQUIRE(archive_read_open_filename(reader.get(), tar.c_str(), 1 << 16) == ARCHIVE_OK);
    archive_entry* entry = nullptr;
    std::vector<std::pair<std::string, std::string>> seen;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        const char* link = archive_entry_symlink(entry);
        seen.emplace_back(archive_entry_pathname(entry), link ? link : "");
        UNSCOPED_INFO(seen.back().first << " -> " << seen.back().second);
    }
    CHECK(seen ==
          std::vector<std::pair<std::string, std::string>>{
              {"./", ""}, {"./certs/", ""}, {"./certs/988a38cb.0", name}, {"./certs/" + name, ""}});
}
