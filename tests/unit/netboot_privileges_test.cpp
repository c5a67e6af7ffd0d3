// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fs.hpp"
#include "netboot/privileges.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace uhs;
namespace fs = std::filesystem;

namespace {

uid_t owner(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_uid;
}

} // namespace

// Root only (chown): hidden from the default run, run by ctest's "unit: root-only cases",
// which skips on a user's machine without root and fails in CI (tests/unit/root_cases.sh).
TEST_CASE("the state directory is handed over without following a symlink", "[root][.]") {
    REQUIRE(::geteuid() == 0);
    test::TestDir dir;
    const fs::path state = dir.path() / "state";
    const fs::path outside = dir.path() / "outside";
    fs::create_directories(state / "tftproot" / ".images" / "a");
    fs::create_directories(outside);
    REQUIRE(util::write_file_atomic(state / "tftproot" / ".images" / "a" / "f", "x"));
    REQUIRE(util::write_file_atomic(outside / "secret", "y"));
    fs::create_symlink(outside, state / "tftproot" / "dev");
    fs::create_symlink(outside / "secret", state / "serve.lock");

    REQUIRE(netboot::chown_tree_nofollow(state, 65534, 65534));
    CHECK(owner(state) == 65534);
    CHECK(owner(state / "tftproot" / ".images" / "a" / "f") == 65534);
    CHECK(owner(state / "tftproot" / "dev") == 65534); // the link itself
    CHECK(owner(outside) == 0);                        // never what it points at
    CHECK(owner(outside / "secret") == 0);

    // A state directory that is itself a symlink is refused.
    fs::create_symlink(state, dir.path() / "link");
    CHECK_FALSE(netboot::chown_tree_nofollow(dir.path() / "link", 65534, 65534));
    CHECK(owner(outside) == 0);
}
