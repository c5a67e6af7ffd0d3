// SPDX-License-Identifier: Apache-2.0
#include "builder/image/manifest.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <tuple>

#include <sys/stat.h>

namespace uhs::image {

namespace fs = std::filesystem;
using nlohmann::json;
using util::Errc;
using util::fail;

namespace {

util::Status list_files(const fs::path& root, const std::string& relative, json& files) {
    const fs::path dir = relative.empty() ? root : root / relative;
    const auto names = UHS_TRY(util::list_dir_sorted(dir));
    for (const std::string& name : names) {
        const std::string path = relative.empty() ? name : relative + "/" + name;
        if (path == "manifest.json") {
            continue;
        }
        struct stat st {};
        if (::lstat((root / path).c_str(), &st) != 0) {
            return fail(Errc::io, "cannot stat ", (root / path).string(), ": ",
                        util::errno_text(errno));
        }
        if (S_ISDIR(st.st_mode)) {
            UHS_CHECK(list_files(root, path, files));
        } else if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            files.push_back(
                {{"path", path}, {"symlink", fs::read_symlink(root / path, ec).string()}});
        } else if (S_ISREG(st.st_mode)) {
            files.push_back({{"path", path},
                             {"size", static_cast<std::uint64_t>(st.st_size)},
                             {"sha256", UHS_TRY(util::sha256_file_hex(root / path))}});
        }
    }
    return {};
}

} // namespace

std::string utc_timestamp(std::int64_t epoch) {
    const std::time_t time = static_cast<std::time_t>(epoch);
    std::tm tm{};
    ::gmtime_r(&time, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

util::Result<json> make_manifest(const fs::path& image_dir, const ImageIdInputs& inputs) {
    json files = json::array();
    UHS_CHECK(list_files(image_dir, "", files));
    json overlays = json::array();
    for (const auto& overlay : inputs.overlays) {
        overlays.push_back({{"name", overlay.name}, {"sha256", overlay.sha256}});
    }
    const auto id = inputs.image_id();
    return json{
        {"image_id", id ? json(*id) : json(nullptr)},
        {"tool_version", inputs.tool_version},
        {"inputs",
         {{"lock_sha256", inputs.lock_sha256 ? json(*inputs.lock_sha256) : json(nullptr)},
          {"overlays", overlays},
          {"config_sha256", inputs.config_sha256}}},
        {"files", files},
    };
}

util::Status write_manifest(const fs::path& image_dir, const ImageIdInputs& inputs) {
    const json manifest = UHS_TRY(make_manifest(image_dir, inputs));
    return util::write_file_atomic(image_dir / "manifest.json", manifest.dump(2) + "\n");
}

util::Result<std::map<std::string, ManifestFile>> manifest_files(const json& files,
                                                                 const std::string& where) {
    std::map<std::string, ManifestFile> out;
    if (!files.is_array()) {
        return fail(Errc::invalid_input, where, ": files: not an array");
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
        const json& f = files[i];
        const std::string field = where + ": files[" + std::to_string(i) + "]";
        if (!f.is_object() || !f.contains("path") || !f["path"].is_string()) {
            return fail(Errc::invalid_input, field, ".path: missing");
        }
        ManifestFile entry;
        if (f.contains("symlink") && f["symlink"].is_string()) {
            entry.symlink = f["symlink"].get<std::string>();
        } else if (f.contains("sha256") && f["sha256"].is_string() && f.contains("size") &&
                   f["size"].is_number_unsigned()) {
            entry.sha256 = f["sha256"].get<std::string>();
            entry.size = f["size"].get<std::uint64_t>();
        } else {
            return fail(Errc::invalid_input, field, ": neither sha256+size nor symlink");
        }
        out[f["path"].get<std::string>()] = std::move(entry);
    }
    return out;
}

util::Result<Manifest> read_manifest(const fs::path& image_dir) {
    const fs::path path = image_dir / "manifest.json";
    auto text = util::read_file(path);
    if (!text) {
        return fail(Errc::not_found, path.string(),
                    ": cannot read (is this an image directory written by `uhs-image build`?)");
    }
    const json manifest = json::parse(*text, nullptr, false);
    if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("files")) {
        return fail(Errc::invalid_input, path.string(), ": not a uhs manifest");
    }
    Manifest out;
    if (manifest.contains("image_id") && manifest["image_id"].is_string()) {
        out.image_id = manifest["image_id"].get<std::string>();
    }
    out.files = UHS_TRY(manifest_files(manifest["files"], path.string()));
    return out;
}

bool image_is_complete(const fs::path& image_dir, std::string_view image_id) {
    const auto manifest = read_manifest(image_dir);
    if (!manifest || manifest->image_id != image_id) {
        return false;
    }
    for (const auto& [relative, file] : manifest->files) {
        const fs::path path = image_dir / relative;
        std::error_code ec;
        if (!file.symlink.empty()) {
            if (!fs::is_symlink(fs::symlink_status(path, ec))) {
                return false;
            }
        } else if (!fs::is_regular_file(fs::symlink_status(path, ec)) ||
                   fs::file_size(path, ec) != file.size) {
            return false;
        }
    }
    return true;
}

namespace {

// purl percent-encodes ':' (Debian epochs) and other reserved characters in the version.
std::string purl_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
            c == '~' || c == '+') {
            out += c;
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
            out += hex;
        }
    }
    return out;
}

} // namespace

json make_spdx_sbom(const std::string& image_id, std::vector<SbomPackage> packages,
                    std::int64_t source_date_epoch) {
    std::sort(packages.begin(), packages.end(), [](const SbomPackage& a, const SbomPackage& b) {
        return std::tie(a.name, a.architecture, a.version) <
               std::tie(b.name, b.architecture, b.version);
    });
    json spdx_packages = json::array();
    json relationships = json::array();
    for (const SbomPackage& p : packages) {
        // SPDX ids allow letters, digits, '.' and '-' only.
        std::string id = "SPDXRef-Package-" + p.name + "-" + p.architecture;
        std::replace_if(
            id.begin(), id.end(),
            [](char c) {
                return !(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-');
            },
            '-');
        spdx_packages.push_back({
            {"SPDXID", id},
            {"name", p.name},
            {"versionInfo", p.version},
            {"packageFileName", p.filename},
            {"downloadLocation", "NOASSERTION"},
            {"filesAnalyzed", false},
            {"licenseConcluded", "NOASSERTION"},
            {"licenseDeclared", "NOASSERTION"},
            {"copyrightText", "NOASSERTION"},
            {"checksums", json::array({{{"algorithm", "SHA256"}, {"checksumValue", p.sha256}}})},
            {"sourceInfo", "built from the Debian source package " + p.source},
            {"externalRefs", json::array({{{"referenceCategory", "PACKAGE-MANAGER"},
                                           {"referenceType", "purl"},
                                           {"referenceLocator", "pkg:deb/debian/" + p.name + "@" +
                                                                    purl_escape(p.version) +
                                                                    "?arch=" + p.architecture}}})},
        });
        relationships.push_back({{"spdxElementId", "SPDXRef-DOCUMENT"},
                                 {"relationshipType", "DESCRIBES"},
                                 {"relatedSpdxElement", id}});
    }
    return json{
        {"spdxVersion", "SPDX-2.3"},
        {"dataLicense", "CC0-1.0"},
        {"SPDXID", "SPDXRef-DOCUMENT"},
        {"name", "uhs-image-" + image_id},
        {"documentNamespace", "https://spdx.org/spdxdocs/uhs-image-" + image_id},
        {"creationInfo",
         {{"created", utc_timestamp(source_date_epoch)}, {"creators", {"Tool: uhs"}}}},
        {"packages", spdx_packages},
        {"relationships", relationships},
    };
}

} // namespace uhs::image
