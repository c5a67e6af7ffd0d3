// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/image/image_id.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace uhs::image {

// One installed package, as the SBOM lists it.
struct SbomPackage {
    std::string name;
    std::string version;
    std::string architecture;
    std::string source;   // source package name
    std::string filename; // pool path of the .deb
    std::string sha256;   // of the .deb
};

// manifest.json: the image-id, its inputs, the tool version, and every file under
// `image_dir` (sorted; symlinks with their targets) with size and SHA-256. manifest.json
// itself is left out of the list.
util::Result<nlohmann::json> make_manifest(const std::filesystem::path& image_dir,
                                           const ImageIdInputs& inputs);

// An SPDX 2.3 JSON document for the image's packages. Everything in it derives from its
// arguments (the creation time is SOURCE_DATE_EPOCH), so it is reproducible.
nlohmann::json make_spdx_sbom(const std::string& image_id, std::vector<SbomPackage> packages,
                              std::int64_t source_date_epoch);

// RFC 3339 UTC ("2023-11-14T22:13:20Z") for a Unix time.
std::string utc_timestamp(std::int64_t epoch);

} // namespace uhs::image
