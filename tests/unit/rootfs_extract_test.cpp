// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/deb.hpp"
#include "builder/rootfs/extract.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/subprocess.hpp"
#include "tests/unit/archive_support.hpp"
#include "tests/unit/test_support.hpp"

#include <sys/stat.h>

using namespace uhs;
using test::TarMember;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    test::TestDir dir;
    fs::path root = dir.path() / "root";
    rootfs::ExtractPolicy policy;

    Fixture() { fs::create_directories(root); }

    util::Result<rootfs::ExtractReport> extract(const std::vector<TarMember>& members) {
        const fs::path deb = dir.path() / "pkg_1.0_arm64.deb";
        REQUIRE(util::write_file_atomic(deb, test::make_deb("pkg", members)));
        auto archive = rootfs::read_deb(deb);
        REQUIRE(archive);
        return rootfs::extract_data(*archive, root, policy);
    }

    // Every path below the whole test directory, to prove nothing landed outside the root.
    std::vector<std::string> everything() const {
        std::vector<std::string> paths;
        for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
            paths.push_back(fs::relative(e.path(), dir.path()).string());
        }
        std::sort(paths.begin(), paths.end());
        return paths;
    }
};

} // namespace

TEST_CASE_METHOD(Fixture, "a well-formed package extracts with modes, links and dpkg's path list") {
    auto report = extract({
        {"./", 'd', "", 0755},
        {"./usr/", 'd', "", 0755},
        {"./usr/bin/", 'd', "", 0755},
        {"./usr/bin/tool", 'f', "#!/bin/sh\necho hi\n", 04755},
        {"./usr/bin/tool-alias", 'l', "tool"},
        {"./usr/bin/tool-hard", 'h', "./usr/bin/tool"},
        {"./bin/", 'd', "", 0755},
        {"./bin/legacy", 'f', "legacy", 0755},
        {"./run/fifo", 'p', "", 0600},
    });
    REQUIRE(report);
    CHECK(report->paths == std::vector<std::string>{"/.", "/usr", "/usr/bin", "/usr/bin/tool",
                                                    "/usr/bin/tool-alias", "/usr/bin/tool-hard",
                                                    "/bin", "/bin/legacy", "/run/fifo"});
    CHECK(*util::read_file(root / "usr/bin/tool") == "#!/bin/sh\necho hi\n");
    struct stat st {};
    REQUIRE(::stat((root / "usr/bin/tool").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 04755);
    CHECK(st.st_nlink == 2);
    CHECK(fs::read_symlink(root / "usr/bin/tool-alias") == "tool");
    // merged /usr: ./bin/legacy lands in usr/bin, not through a bin -> usr/bin link.
    CHECK(fs::exists(root / "usr/bin/legacy"));
    CHECK_FALSE(fs::exists(root / "bin"));
    // No temp files left behind.
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        CHECK(e.path().filename().string().find(".uhs-extract-") == std::string::npos);
    }
}

TEST_CASE_METHOD(Fixture, "hostile packages are refused and write nothing outside the root") {
    const auto before = everything();
    struct Case {
        const char* what;
        std::vector<TarMember> members;
        const char* message;
    };
    const std::vector<Case> cases{
        {"dot-dot", {{"./../escaped", 'f', "x"}}, "escapes the root ('..')"},
        {"nested dot-dot", {{"./usr/../../escaped", 'f', "x"}}, "escapes the root ('..')"},
        {"absolute", {{"/etc/escaped", 'f', "x"}}, "absolute path '/etc/escaped' refused"},
        {"write through a symlink",
         {{"./evil", 'l', ".."}, {"./evil/escaped", 'f', "x"}},
         "'evil' is a symlink or not a directory"},
        {"write through an absolute symlink",
         {{"./etc", 'l', "/tmp"}, {"./etc/escaped", 'f', "x"}},
         "'etc' is a symlink or not a directory"},
        {"hard link out of the tree", {{"./link", 'h', "../outside"}}, "escapes the root"},
        {"hard link to nothing", {{"./link", 'h', "./missing"}}, "is not a file extracted before"},
        {"device node", {{"./dev/mem", 'c', ""}}, "device node refused"},
        {"directory replaced by a file",
         {{"./usr/", 'd', ""}, {"./usr", 'f', "x"}},
         "would replace a directory with a file"},
        {"directory entry over a symlink",
         {{"./a", 'l', "/etc"}, {"./a/", 'd', ""}, {"./a/escaped", 'f', "x"}},
         "a directory entry meets an existing non-directory"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        auto report = extract(c.members);
        REQUIRE_FALSE(report);
        CHECK(report.error().message.find(c.message) != std::string::npos);
        CHECK(report.error().message.starts_with("pkg_1.0_arm64.deb: "));
        fs::remove_all(root);
        fs::create_directories(root);
    }
    // Only the root and the package file: nothing escaped.
    auto after = everything();
    CHECK(after == std::vector<std::string>{"pkg_1.0_arm64.deb", "root"});
    CHECK(before == std::vector<std::string>{"root"});
}

TEST_CASE_METHOD(Fixture, "size limits apply per entry and per package") {
    policy.max_entry_size = 10;
    auto big = extract({{"./big", 'f', std::string(11, 'x')}});
    REQUIRE_FALSE(big);
    CHECK(big.error().message.find("11 bytes is over the limit of 10") != std::string::npos);
    CHECK_FALSE(fs::exists(root / "big"));

    policy.max_entry_size = 100;
    policy.max_total_size = 15;
    auto total = extract({{"./a", 'f', std::string(10, 'a')}, {"./b", 'f', std::string(10, 'b')}});
    REQUIRE_FALSE(total);
    CHECK(total.error().message.find("over the limit of 15 bytes") != std::string::npos);
}

// mknod needs root (the refusal is tested above): run by "unit: root-only cases".
TEST_CASE_METHOD(Fixture, "device nodes are created only when allowed", "[root][.]") {
    REQUIRE(::geteuid() == 0);
    policy.allow_devices = rootfs::AllowDevices::yes;
    auto report = extract({{"./dev/", 'd', "", 0755}, {"./dev/null", 'c', "", 0666}});
    REQUIRE(report);
    struct stat st {};
    REQUIRE(::lstat((root / "dev/null").c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("read_deb refuses files that are not Debian packages") {
    test::TestDir dir;
    const fs::path junk = dir.path() / "junk.deb";
    REQUIRE(util::write_file_atomic(junk, "!<arch>\nnot really"));
    auto result = rootfs::read_deb(junk);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.starts_with("junk.deb: "));
    CHECK(result.error().code == util::Errc::invalid_input);
}

TEST_CASE("read_control_files returns the control file") {
    test::TestDir dir;
    const fs::path deb = dir.path() / "pkg.deb";
    REQUIRE(util::write_file_atomic(deb, test::make_deb("hello", {{"./", 'd', ""}})));
    auto archive = rootfs::read_deb(deb);
    REQUIRE(archive);
    auto files = rootfs::read_control_files(*archive);
    REQUIRE(files);
    REQUIRE(files->contains("control"));
    CHECK(files->at("control").starts_with("Package: hello\n"));
}

TEST_CASE_METHOD(Fixture,
                 "base-files' merged-/usr links are kept as links, never written through") {
    auto report = extract(
        {{"./bin", 'l', "usr/bin"}, {"./bin/", 'd', "", 0755}, {"./bin/sh", 'f', "#!", 0755}});
    REQUIRE(report);
    CHECK(fs::read_symlink(root / "bin") == "usr/bin");
    CHECK(fs::is_regular_file(fs::symlink_status(root / "usr/bin/sh")));
    // Again, with the link in place: nothing changes.
    REQUIRE(extract({{"./bin", 'l', "usr/bin"}}));
    CHECK(fs::read_symlink(root / "bin") == "usr/bin");

    fs::remove_all(root);
    fs::create_directories(root / "bin");
    auto clash = extract({{"./bin", 'l', "usr/bin"}});
    REQUIRE_FALSE(clash);
    CHECK(clash.error().message.find("merged-/usr link meets an existing directory") !=
          std::string::npos);
}

TEST_CASE_METHOD(Fixture, "a whole-root tar extracts again over a run that was cut off") {
    const fs::path tar = dir.path() / "rootfs.tar";
    REQUIRE(util::write_file_atomic(tar, test::make_tar({{"./", 'd', "", 0755},
                                                         {"./etc/", 'd', "", 0755},
                                                         {"./etc/hostname", 'f', "uhs\n", 0644},
                                                         {"./etc/motd", 'l', "hostname"}})));
    const rootfs::ExtractPolicy whole_root = rootfs::root_tree_policy();
    REQUIRE(rootfs::extract_tar_file(tar, root, whole_root));
    // A run killed while writing left its temp files where the next run makes them again.
    REQUIRE(util::write_file_atomic(root / ".uhs-extract-0", "half a file"));
    REQUIRE(util::write_file_atomic(root / "etc/.uhs-extract-1", "half"));
    REQUIRE(util::write_file_atomic(root / "etc/hostname", "stale\n"));
    // The sweep publish runs first finds them wherever they are.
    auto swept = rootfs::remove_extract_leftovers(root);
    REQUIRE(swept);
    CHECK(*swept == 2);
    auto again = rootfs::extract_tar_file(tar, root, whole_root);
    REQUIRE(again);
    CHECK(*util::read_file(root / "etc/hostname") == "uhs\n");
    CHECK(fs::read_symlink(root / "etc/motd") == "hostname");
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        CHECK(e.path().filename().string().find(".uhs-extract-") == std::string::npos);
    }
}

TEST_CASE_METHOD(Fixture, "an empty file is not a root tree") {
    const fs::path tar = dir.path() / "rootfs.tar";
    REQUIRE(util::write_file_atomic(tar, ""));
    auto extracted = rootfs::extract_tar_file(tar, root, rootfs::root_tree_policy());
    REQUIRE_FALSE(extracted);
    CHECK(extracted.error().message.find("rootfs.tar") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "a name of the extractor's temp files is refused as content") {
    auto refused = extract({{"./etc/", 'd', "", 0755}, {"./etc/.uhs-extract-3", 'f', "x", 0644}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == util::Errc::invalid_input);
    CHECK(refused.error().message.find("reserved for the extractor") != std::string::npos);
    CHECK_FALSE(fs::exists(root / "etc/.uhs-extract-3"));
}

TEST_CASE("a package rewritten with a plain data.tar is the same package to dpkg-deb") {
    test::TestDir dir;
    const std::vector<TarMember> data = {{"./", 'd', "", 0755},
                                         {"./usr/", 'd', "", 0755},
                                         {"./usr/bin/", 'd', "", 0755},
                                         {"./usr/bin/tool", 'f', std::string(70001, 'x'), 0755},
                                         {"./usr/bin/alias", 'l', "tool"}};
    const fs::path original = dir.path() / "tool.deb";
    REQUIRE(util::write_file_atomic(original, test::make_deb("tool", data)));
    const fs::path plain = dir.path() / "tool-plain.deb";
    REQUIRE(rootfs::write_plain_deb(*rootfs::read_deb(original), plain));

    // ar members: debian-binary, the control member as it was, an uncompressed data.tar.
    const auto reread = rootfs::read_deb(plain);
    REQUIRE(reread);
    CHECK(reread->control_member == "control.tar.gz");
    CHECK(reread->control_tar == rootfs::read_deb(original)->control_tar);
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_format_ar(reader.get());
    REQUIRE(archive_read_open_filename(reader.get(), plain.c_str(), 1 << 16) == ARCHIVE_OK);
    std::vector<std::string> members;
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
        members.push_back(archive_entry_pathname(entry));
    }
    CHECK(members == std::vector<std::string>{"debian-binary", "control.tar.gz", "data.tar"});

    // The real dpkg-deb reads it: the same control fields, the same file system tar.
    util::PosixCommandRunner runner;
    auto run = [&](std::vector<std::string> argv) {
        auto out = runner.run(util::Command{.argv = std::move(argv)});
        REQUIRE(out);
        INFO(out->err);
        REQUIRE(out->exit_code == 0);
        return out->out;
    };
    CHECK(run({"dpkg-deb", "--field", plain.string()}) ==
          run({"dpkg-deb", "--field", original.string()}));
    const std::string tar = run({"dpkg-deb", "--fsys-tarfile", plain.string()});
    CHECK(tar == run({"dpkg-deb", "--fsys-tarfile", original.string()}));
    CHECK(tar.size() % 512 == 0);
    const fs::path unpacked = dir.path() / "unpacked";
    run({"dpkg-deb", "--extract", plain.string(), unpacked.string()});
    CHECK(fs::file_size(unpacked / "usr/bin/tool") == 70001);
    CHECK(fs::read_symlink(unpacked / "usr/bin/alias") == "tool");
}

TEST_CASE("a package whose data.tar does not decompress is not rewritten") {
    test::TestDir dir;
    rootfs::DebArchive deb = *rootfs::read_deb([&] {
        const fs::path p = dir.path() / "x.deb";
        REQUIRE(util::write_file_atomic(p, test::make_deb("x", {{"./", 'd', "", 0755}})));
        return p;
    }());
    const std::string whole = deb.data_tar;
    deb.data_tar = whole.substr(0, whole.size() / 2); // cut off: gzip's own error
    const auto written = rootfs::write_plain_deb(deb, dir.path() / "x-plain.deb");
    REQUIRE_FALSE(written);
    CHECK(written.error().message.starts_with("x.deb: data.tar: "));
    CHECK_FALSE(fs::exists(dir.path() / "x-plain.deb"));
    deb.data_tar = "not gzip at all"; // the name says gzip
    const auto mislabelled = rootfs::write_plain_deb(deb, dir.path() / "x-plain.deb");
    REQUIRE_FALSE(mislabelled);
    CHECK(mislabelled.error().message == "x.deb: data.tar.gz is not gz data");
    CHECK_FALSE(fs::exists(dir.path() / "x-plain.deb"));
}
