// SPDX-License-Identifier: Apache-2.0
#include "firmware/bootcfg/initramfs.hpp"

#include "builder/util/archive.hpp"
#include "builder/util/fs.hpp"

#include <algorithm>

namespace uhs::bootcfg {

using util::Errc;
using util::fail;

namespace {

struct Segment {
    std::vector<std::string> members;
    bool compressed = false;
    std::size_t consumed = 0; // bytes of the input the segment took (uncompressed segments)
};

util::Result<Segment> read_segment(const std::string& data, std::size_t offset,
                                   const std::string& name) {
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_cpio(reader.get());
    if (archive_read_open_memory(reader.get(), data.data() + offset, data.size() - offset) !=
        ARCHIVE_OK) {
        return fail(Errc::invalid_input, name, ": not a cpio archive at byte ",
                    std::to_string(offset), ": ", archive_error_string(reader.get()));
    }
    Segment segment;
    archive_entry* entry = nullptr;
    int rc = ARCHIVE_OK;
    while ((rc = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
        if (const char* path = archive_entry_pathname(entry)) {
            segment.members.emplace_back(path);
        }
    }
    if (rc != ARCHIVE_EOF) {
        return fail(Errc::invalid_input, name, ": not a cpio archive at byte ",
                    std::to_string(offset), ": ", archive_error_string(reader.get()));
    }
    segment.compressed = archive_filter_code(reader.get(), 0) != ARCHIVE_FILTER_NONE;
    // For an uncompressed segment the format's position is where its TRAILER!!! ended.
    segment.consumed = static_cast<std::size_t>(archive_filter_bytes(reader.get(), 0));
    return segment;
}

} // namespace

util::Result<std::vector<std::string>> initramfs_members(const std::filesystem::path& file) {
    const std::string data = UHS_TRY(util::read_file(file));
    const std::string name = file.string();
    std::vector<std::string> members;
    std::size_t offset = 0;
    // Bounded: every pass consumes at least one byte or stops.
    while (offset < data.size()) {
        // initramfs-tools pads each segment with zeros (cpio blocks); the kernel skips them too.
        while (offset < data.size() && data[offset] == '\0') {
            ++offset;
        }
        if (offset == data.size()) {
            break;
        }
        Segment segment = UHS_TRY(read_segment(data, offset, name));
        members.insert(members.end(), segment.members.begin(), segment.members.end());
        if (segment.compressed || segment.consumed == 0) {
            break;
        }
        offset += segment.consumed;
    }
    if (members.empty()) {
        return fail(Errc::invalid_input, name, ": an empty initramfs");
    }
    return members;
}

std::string module_name_of(std::string_view member) {
    const auto slash = member.rfind('/');
    std::string_view base = slash == std::string_view::npos ? member : member.substr(slash + 1);
    bool found = false;
    for (std::string_view suffix : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
        if (base.ends_with(suffix)) {
            base.remove_suffix(suffix.size());
            found = true;
            break;
        }
    }
    if (!found || base.empty()) {
        return "";
    }
    std::string module(base);
    std::replace(module.begin(), module.end(), '-', '_');
    return module;
}

std::set<std::string> module_names(const std::vector<std::string>& members) {
    std::set<std::string> names;
    for (const std::string& member : members) {
        if (std::string module = module_name_of(member); !module.empty()) {
            names.insert(std::move(module));
        }
    }
    return names;
}

} // namespace uhs::bootcfg
