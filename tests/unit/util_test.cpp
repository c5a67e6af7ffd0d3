// SPDX-License-Identifier: Apache-2.0
#include "builder/util/cli.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/parallel.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"
#include "builder/util/subprocess.hpp"
#include "tests/unit/test_support.hpp"

#include <atomic>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace uhs;
using namespace std::string_literals;

TEST_CASE("edit distance counts transpositions as one step") {
    CHECK(util::edit_distance("name", "name") == 0);
    CHECK(util::edit_distance("nmae", "name") == 1);
    CHECK(util::edit_distance("kubelett", "kubelet") == 1);
    CHECK(util::edit_distance("", "abc") == 3);
    CHECK(util::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_match suggests only plausible typos") {
    const std::vector<std::string_view> words{"validate", "plan", "lock", "build"};
    CHECK(util::closest_match("valdate", words) == "validate");
    CHECK(util::closest_match("PLAN", words) == "plan");
    CHECK_FALSE(util::closest_match("publish", words).has_value());
}

TEST_CASE("split, trim and is_hex") {
    CHECK(util::split("a::b", ':') == std::vector<std::string_view>{"a", "", "b"});
    CHECK(util::trim("  x y \t\n") == "x y");
    CHECK(util::is_hex("a1B2"));
    CHECK_FALSE(util::is_hex("a1g2"));
    CHECK_FALSE(util::is_hex(""));
}

TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
    CHECK(util::sha256_hex("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(util::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("write_file_atomic replaces a file whole and leaves no temp file") {
    test::TestDir dir;
    const auto path = dir.path() / "out.txt";
    REQUIRE(util::write_file_atomic(path, "first", 0600));
    REQUIRE(util::write_file_atomic(path, "second version", 0640));
    CHECK(*util::read_file(path) == "second version");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(*util::list_dir_sorted(dir.path()) == std::vector<std::string>{"out.txt"});
    CHECK(*util::sha256_file_hex(path) == util::sha256_hex("second version"));
}

TEST_CASE("write_file_atomic into a missing directory fails with the path") {
    test::TestDir dir;
    auto result = util::write_file_atomic(dir.path() / "missing" / "x", "data");
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("missing") != std::string::npos);
}

TEST_CASE("read_file reports a missing file as not_found") {
    auto result = util::read_file("/nonexistent/uhs-test");
    REQUIRE_FALSE(result);
    CHECK(result.error().code == util::Errc::not_found);
    CHECK(result.error().message.starts_with("cannot open /nonexistent/uhs-test"));
}

TEST_CASE("read_input_file reads regular files only, bounded, and never waits") {
    test::TestDir dir;
    const std::filesystem::path file = dir.path() / "cluster.yaml";
    REQUIRE(util::write_file_atomic(file, "apiVersion: uhs/v1\n"));
    CHECK(util::read_input_file(file, 64) == "apiVersion: uhs/v1\n");
    CHECK(util::read_input_file(file, 19) == "apiVersion: uhs/v1\n"); // exactly the limit
    const auto big = util::read_input_file(file, 18);
    REQUIRE(!big);
    CHECK(big.error().code == util::Errc::invalid_input);
    CHECK(big.error().message == file.string() + " is 19 bytes, over the limit of 18 bytes");
    REQUIRE(util::write_file_atomic(dir.path() / "empty", ""));
    CHECK(util::read_input_file(dir.path() / "empty", 0) == "");
    // A FIFO with no writer: refused at once (a plain open would wait for a writer forever).
    const std::filesystem::path fifo = dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto from_fifo = util::read_input_file(fifo, 1 << 20);
    REQUIRE(!from_fifo);
    CHECK(from_fifo.error().message == fifo.string() + " is a FIFO, not a regular file");
    // A device that never ends is never read.
    const auto zero = util::read_input_file("/dev/zero", 1 << 20);
    REQUIRE(!zero);
    CHECK(zero.error().message == "/dev/zero is a character device, not a regular file");
    const auto directory = util::read_input_file(dir.path(), 1 << 20);
    REQUIRE(!directory);
    CHECK(directory.error().code == util::Errc::invalid_input);
    CHECK(util::read_input_file(dir.path() / "missing", 1).error().code == util::Errc::not_found);
}

TEST_CASE("printable escapes controls and broken UTF-8, keeps text, and bounds the length") {
    CHECK(util::printable("node cm5-1 in Zürich") == "node cm5-1 in Zürich");
    CHECK(util::printable("a\x1b[2Jb\tc\x7f") == "a\\x1b[2Jb\\x09c\\x7f");
    CHECK(util::printable("\xc2\x9b"
                          "2J") == "\\xc2\\x9b2J");                   // C1 CSI, as UTF-8
    CHECK(util::printable("\xff\xc3") == "\\xff\\xc3");               // no UTF-8, cut short
    CHECK(util::printable("\xc0\xaf") == "\\xc0\\xaf");               // overlong '/'
    CHECK(util::printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");      // a surrogate
    CHECK(util::printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80"); // U+1F600 kept
    CHECK(util::printable(std::string(600, 'x'), 512) ==
          std::string(512, 'x') + "... (88 more bytes)");
}

TEST_CASE("list_dir_sorted sorts bytewise") {
    test::TestDir dir;
    for (const char* name : {"b", "a", "B", "_"}) {
        REQUIRE(util::write_file_atomic(dir.path() / name, ""));
    }
    CHECK(*util::list_dir_sorted(dir.path()) == std::vector<std::string>{"B", "_", "a", "b"});
}

TEST_CASE("PosixCommandRunner captures output, exit code and stdin") {
    util::PosixCommandRunner runner;
    auto result = runner.run({{"sh", "-c", "cat; echo err >&2; exit 3"}, {}, {}, "from stdin"});
    REQUIRE(result);
    CHECK(result->exit_code == 3);
    CHECK(result->out == "from stdin");
    CHECK(result->err == "err\n");

    auto env = runner.run({{"sh", "-c", "printf %s \"$UHS_X\""}, {}, {"UHS_X=42"}, ""});
    REQUIRE(env);
    CHECK(env->out == "42");

    auto missing = runner.run({{"uhs-no-such-program"}, {}, {}, ""});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == util::Errc::not_found);
}

namespace {

struct CliFixture {
    std::ostringstream out;
    std::ostringstream err;
    util::Io io{out, err};
    std::vector<std::string> seen;
    std::vector<util::SubcommandSpec> table{
        {
            .name = "show",
            .summary = "show a thing",
            .arguments = "FILE [--json] [--tag T]...",
            .options = {{"--json", util::TakesValue::no, "as JSON"},
                        {"--tag", util::TakesValue::yes, "a tag", "T", util::Repeatable::yes}},
            .min_positionals = 1,
            .max_positionals = 1,
            .run =
                [this](const util::ParsedArgs& args, util::Io&) {
                    seen = args.values("--tag");
                    seen.insert(seen.begin(), args.positionals[0]);
                    return args.has("--json") ? 7 : 0;
                },
        },
    };

    int run(std::vector<std::string> args) {
        return util::run_subcommands("prog", "about", table, args, io);
    }
};

} // namespace

TEST_CASE_METHOD(CliFixture, "subcommand table parses options and positionals") {
    CHECK(run({"show", "f", "--tag", "a", "--tag=b", "--json"}) == 7);
    CHECK(seen == std::vector<std::string>{"f", "a", "b"});
}

TEST_CASE_METHOD(CliFixture, "subcommand table rejects typos with a suggestion") {
    CHECK(run({"shwo"}) == util::k_exit_usage);
    CHECK(err.str() == "prog: error: unknown command 'shwo' (did you mean 'show'?); run 'prog "
                       "--help'\n");
}

TEST_CASE_METHOD(CliFixture, "subcommand table rejects unknown options, missing values, arity") {
    CHECK(run({"show", "f", "--jsn"}) == util::k_exit_usage);
    CHECK(err.str() == "prog show: error: unknown option '--jsn' (did you mean '--json'?)\n");
    err.str("");
    CHECK(run({"show", "f", "--tag"}) == util::k_exit_usage);
    CHECK(err.str() == "prog show: error: option --tag needs a T\n");
    err.str("");
    CHECK(run({"show"}) == util::k_exit_usage);
    CHECK(err.str().starts_with("prog show: error: expected FILE"));
    err.str("");
    CHECK(run({"show", "f", "--json", "--json"}) == util::k_exit_usage);
    CHECK(err.str() == "prog show: error: option --json given twice\n");
}

TEST_CASE_METHOD(CliFixture, "help is printed for the table and for each command") {
    CHECK(run({"--help"}) == util::k_exit_ok);
    CHECK(out.str().find("  show  show a thing") != std::string::npos);
    out.str("");
    CHECK(run({"help", "show"}) == util::k_exit_ok);
    CHECK(out.str().find("Usage: prog show FILE") != std::string::npos);
    CHECK(out.str().find("--tag T") != std::string::npos);
    CHECK(run({}) == util::k_exit_usage);
}

TEST_CASE("AtomicFile: nothing appears until commit, and a dropped one leaves nothing") {
    test::TestDir dir;
    const auto path = dir.path() / "artifact.bin";
    {
        auto file = util::AtomicFile::create(path);
        REQUIRE(file);
        REQUIRE(::write(file->fd(), "partial", 7) == 7);
        CHECK_FALSE(std::filesystem::exists(path));
    } // dropped: a failed build
    CHECK(util::list_dir_sorted(dir.path())->empty());

    auto file = util::AtomicFile::create(path);
    REQUIRE(file);
    REQUIRE(::write(file->fd(), "whole", 5) == 5);
    REQUIRE(file->commit(0600));
    CHECK(*util::read_file(path) == "whole");
    CHECK(*util::list_dir_sorted(dir.path()) == std::vector<std::string>{"artifact.bin"});
}

TEST_CASE("required options are checked before the command runs") {
    std::ostringstream out, err;
    util::Io io{out, err};
    bool ran = false;
    const std::vector<util::SubcommandSpec> table{{
        .name = "go",
        .summary = "go",
        .options = {{"--to", util::TakesValue::yes, "where", "DIR", util::Repeatable::no,
                     util::Required::yes}},
        .run =
            [&](const util::ParsedArgs&, util::Io&) {
                ran = true;
                return 0;
            },
    }};
    CHECK(util::run_subcommands("prog", "", table, std::vector<std::string>{"go"}, io) ==
          util::k_exit_usage);
    CHECK_FALSE(ran);
    CHECK(err.str() == "prog go: error: missing --to DIR (see 'prog go --help')\n");
    CHECK(util::run_subcommands("prog", "", table, std::vector<std::string>{"go", "--to", "x"},
                                io) == 0);
    CHECK(ran);
}

TEST_CASE("for_each_parallel runs every index once and reports the lowest failure") {
    for (unsigned workers : {1u, 2u, 7u}) {
        std::vector<std::atomic<int>> runs(50);
        REQUIRE(util::for_each_parallel(
            runs.size(),
            [&](std::size_t i) -> util::Status {
                ++runs[i];
                return {};
            },
            workers));
        for (const auto& n : runs) {
            CHECK(n.load() == 1);
        }
    }
    // Indices 10 and 20 fail; whichever thread sees which first, 10's error is the one.
    for (int attempt = 0; attempt < 20; ++attempt) {
        const auto failed = util::for_each_parallel(
            40,
            [](std::size_t i) -> util::Status {
                if (i == 10 || i == 20) {
                    return util::fail(util::Errc::io, "job ", std::to_string(i));
                }
                return {};
            },
            4);
        REQUIRE_FALSE(failed);
        CHECK(failed.error().message == "job 10");
        CHECK(failed.error().code == util::Errc::io);
    }
    CHECK(util::for_each_parallel(0, [](std::size_t) -> util::Status { return {}; }));
}
