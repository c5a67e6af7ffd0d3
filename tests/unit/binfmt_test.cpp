// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/binfmt.hpp"
#include "builder/util/fs.hpp"
#include "tests/unit/test_support.hpp"

using namespace uhs;

namespace {

const std::string k_entry = "enabled\n"
                            "interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
                            "flags: PF\n"
                            "offset 0\n"
                            "magic 7f454c460201010000000000000000000200b700\n"
                            "mask ffffffffffffff00fffffffffffffffffeffffff\n";

} // namespace

TEST_CASE("binfmt: a registered qemu-aarch64 with the F flag is ready") {
    test::TestDir dir;
    REQUIRE(util::write_file_atomic(dir.path() / "status", "enabled\n"));
    REQUIRE(util::write_file_atomic(dir.path() / "python3.11", "enabled\nmagic a70d0d0a\n"));
    REQUIRE(util::write_file_atomic(dir.path() / "qemu-aarch64", k_entry));
    auto binfmt = rootfs::check_aarch64_binfmt(dir.path());
    REQUIRE(binfmt);
    CHECK(binfmt->name == "qemu-aarch64");
    CHECK(binfmt->flags == "PF");
    CHECK(binfmt->interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
}

TEST_CASE("binfmt: every way it can be missing says what to do") {
    test::TestDir dir;
    auto unmounted = rootfs::check_aarch64_binfmt(dir.path());
    REQUIRE_FALSE(unmounted);
    CHECK(unmounted.error().message.find("is not mounted") != std::string::npos);
    CHECK(unmounted.error().message.find("apt-get install qemu-user-static") != std::string::npos);

    REQUIRE(util::write_file_atomic(dir.path() / "status", "enabled\n"));
    auto unregistered = rootfs::check_aarch64_binfmt(dir.path());
    REQUIRE_FALSE(unregistered);
    CHECK(unregistered.error().message.starts_with("no binfmt_misc entry runs aarch64"));

    std::string no_fix = k_entry;
    no_fix.replace(no_fix.find("flags: PF"), 9, "flags: P");
    REQUIRE(util::write_file_atomic(dir.path() / "qemu-aarch64", no_fix));
    auto without_f = rootfs::check_aarch64_binfmt(dir.path());
    REQUIRE_FALSE(without_f);
    CHECK(without_f.error().message.find("lacks the F flag") != std::string::npos);

    std::string disabled = k_entry;
    disabled.replace(0, 7, "disabled");
    REQUIRE(util::write_file_atomic(dir.path() / "qemu-aarch64", disabled));
    auto off = rootfs::check_aarch64_binfmt(dir.path());
    REQUIRE_FALSE(off);
    CHECK(off.error().message.find("update-binfmts --enable qemu-aarch64") != std::string::npos);
}
