// SPDX-License-Identifier: Apache-2.0
#include "builder/image/manifest.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "tests/unit/test_support.hpp"

using namespace uhs;
namespace fs = std::filesystem;

TEST_CASE("the manifest lists every artifact with size and hash, sorted, without itself") {
    test::TestDir dir;
    fs::create_directories(dir.path() / "boot");
    REQUIRE(util::write_file_atomic(dir.path() / "rootfs.tar", "tar bytes"));
    REQUIRE(util::write_file_atomic(dir.path() / "boot/kernel_2712.img", "kernel"));
    REQUIRE(util::write_file_atomic(dir.path() / "manifest.json", "{}"));
    fs::create_symlink("boot/kernel_2712.img", dir.path() / "kernel");

    image::ImageIdInputs inputs;
    inputs.lock_sha256 = std::string(64, 'a');
    inputs.config_sha256 = std::string(64, 'b');
    inputs.tool_version = "9.9.9";
    auto manifest = image::make_manifest(dir.path(), inputs);
    REQUIRE(manifest);
    CHECK((*manifest)["image_id"] == *inputs.image_id());
    const auto& files = (*manifest)["files"];
    REQUIRE(files.size() == 3);
    CHECK(files[0]["path"] == "boot/kernel_2712.img");
    CHECK(files[0]["size"] == 6);
    CHECK(files[0]["sha256"] == util::sha256_hex("kernel"));
    CHECK(files[1]["path"] == "kernel");
    CHECK(files[1]["symlink"] == "boot/kernel_2712.img");
    CHECK(files[2]["path"] == "rootfs.tar");
}

TEST_CASE("the SBOM is SPDX 2.3, sorted, and dated by SOURCE_DATE_EPOCH") {
    const auto sbom = image::make_spdx_sbom(
        "abc",
        {{"zlib1g", "1:1.3", "arm64", "zlib", "pool/main/z/zlib/zlib1g.deb", "11"},
         {"bash", "5.2-1", "arm64", "bash", "pool/main/b/bash/bash.deb", "22"}},
        1700000000);
    CHECK(sbom["spdxVersion"] == "SPDX-2.3");
    CHECK(sbom["creationInfo"]["created"] == "2023-11-14T22:13:20Z");
    REQUIRE(sbom["packages"].size() == 2);
    CHECK(sbom["packages"][0]["name"] == "bash");
    CHECK(sbom["packages"][1]["SPDXID"] == "SPDXRef-Package-zlib1g-arm64");
    CHECK(sbom["packages"][1]["externalRefs"][0]["referenceLocator"] ==
          "pkg:deb/debian/zlib1g@1%3A1.3?arch=arm64");
    CHECK(sbom["relationships"].size() == 2);
}
