// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/image/image_id.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
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

// make_manifest's document written to IMAGE_DIR/manifest.json (atomically).
util::Status write_manifest(const std::filesystem::path& image_dir, const ImageIdInputs& inputs);

// One entry of a manifest's file list.
struct ManifestFile {
    std::string sha256; // regular files
    std::uint64_t size = 0;
    std::string symlink; // symlinks: the target
};

// A manifest's file list by path. Fails with Errc::invalid_input, naming `where` and the entry,
// when `files` is not an array or an entry is neither sha256+size nor symlink.
util::Result<std::map<std::string, ManifestFile>> manifest_files(const nlohmann::json& files,
                                                                 const std::string& where);

// manifest.json as read back: what build (is the image complete?) and verify (does every file
// match?) know of it.
struct Manifest {
    std::optional<std::string> image_id; // null in a manifest written before the lock existed
    std::map<std::string, ManifestFile> files;
};

// Reads IMAGE_DIR/manifest.json: Errc::not_found when it cannot be read, Errc::invalid_input
// when it is not a uhs manifest (both naming the file).
util::Result<Manifest> read_manifest(const std::filesystem::path& image_dir);

// True when `image_dir` holds a finished build of `image_id`: its manifest.json parses, names
// that id, and every file it lists exists with the listed size (hashes are not re-read, so
// this takes milliseconds).
bool image_is_complete(const std::filesystem::path& image_dir, std::string_view image_id);

// An SPDX 2.3 JSON document for the image's packages. Everything in it derives from its
// arguments (the creation time is SOURCE_DATE_EPOCH), so it is reproducible.
nlohmann::json make_spdx_sbom(const std::string& image_id, std::vector<SbomPackage> packages,
                              std::int64_t source_date_epoch);

// RFC 3339 UTC ("2023-11-14T22:13:20Z") for a Unix time.
std::string utc_timestamp(std::int64_t epoch);

} // namespace uhs::image
