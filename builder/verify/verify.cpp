// SPDX-License-Identifier: Apache-2.0
#include "builder/verify/verify.hpp"

#include "builder/image/image_diff.hpp"
#include "builder/image/manifest.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include <guestfs.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

bool VerifyReport::ok() const {
    for (const VerifyCheck& check : checks) {
        if (!check.ok) {
            return false;
        }
    }
    return true;
}

namespace {

struct GuestfsClose {
    void operator()(guestfs_h* g) const { guestfs_close(g); }
};
using GuestfsHandle = std::unique_ptr<guestfs_h, GuestfsClose>;

// A NULL-terminated string list that libguestfs allocated.
struct StringList {
    char** items = nullptr;
    explicit StringList(char** list) : items(list) {}
    StringList(const StringList&) = delete;
    StringList& operator=(const StringList&) = delete;
    ~StringList() {
        if (items) {
            for (char** p = items; *p; ++p) {
                std::free(*p);
            }
            std::free(items);
        }
    }
};

std::string take_string(char* text) {
    std::string out = text ? text : "";
    std::free(text);
    return out;
}

// KVM needs vmx or svm; without them (nested VMs such as this project's CI machines) qemu's
// KVM start aborts, so the appliance must use TCG from the start.
bool cpu_has_virtualisation() {
    auto cpuinfo = util::read_file("/proc/cpuinfo");
    if (!cpuinfo) {
        return false;
    }
    for (std::string_view line : util::split(*cpuinfo, '\n')) {
        if (line.starts_with("flags") && (line.find(" vmx") != std::string_view::npos ||
                                          line.find(" svm") != std::string_view::npos)) {
            return true;
        }
    }
    return false;
}

class GuestfsInspector final : public DiskInspector {
public:
    explicit GuestfsInspector(GuestfsHandle g) : m_g(std::move(g)) {}

    util::Result<std::vector<GuestPartition>> partitions() override {
        StringList names(guestfs_list_partitions(m_g.get()));
        if (!names.items) {
            return error("list-partitions");
        }
        std::vector<GuestPartition> out;
        for (char** p = names.items; *p; ++p) {
            GuestPartition part;
            part.device = *p;
            part.number = guestfs_part_to_partnum(m_g.get(), *p);
            const std::string disk = take_string(guestfs_part_to_dev(m_g.get(), *p));
            if (part.number < 1 || disk.empty()) {
                return error("part-to-partnum " + part.device);
            }
            part.mbr_id = guestfs_part_get_mbr_id(m_g.get(), disk.c_str(), part.number);
            // An unknown filesystem is a finding, not an error of the inspection.
            guestfs_push_error_handler(m_g.get(), nullptr, nullptr);
            part.fs_type = take_string(guestfs_vfs_type(m_g.get(), *p));
            part.label = take_string(guestfs_vfs_label(m_g.get(), *p));
            guestfs_pop_error_handler(m_g.get());
            out.push_back(std::move(part));
        }
        return out;
    }

    util::Status check_filesystem(const GuestPartition& partition) override {
        if (partition.fs_type == "ext4") {
            // The daemon runs e2fsck -f (a full check though the filesystem is marked clean)
            // with -p; the drive is read-only, so nothing reaches the image.
            if (guestfs_e2fsck(m_g.get(), partition.device.c_str(), GUESTFS_E2FSCK_CORRECT, 1,
                               -1) != 0) {
                return error("e2fsck -f " + partition.device);
            }
            return {};
        }
        // fsck -a -t vfat: fsck.fat always reads the whole FAT and directory tree. The drive
        // is read-only (writes go to a throwaway overlay), and any repair counts as an error.
        const int status =
            guestfs_fsck(m_g.get(), partition.fs_type.c_str(), partition.device.c_str());
        if (status < 0) {
            return error("fsck " + partition.device);
        }
        if (status != 0) {
            return fail(Errc::failed, "fsck -t ", partition.fs_type, " ", partition.device,
                        " exited with status ", std::to_string(status),
                        status & 1 ? " (errors were found and corrected)" : "");
        }
        return {};
    }

    util::Status tar_out(const GuestPartition& partition, const fs::path& out) override {
        if (guestfs_mount_ro(m_g.get(), partition.device.c_str(), "/") != 0) {
            return error("mount-ro " + partition.device);
        }
        util::Status written = {};
        if (guestfs_tar_out_opts(m_g.get(), "/", out.c_str(), GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1,
                                 -1) != 0) {
            written = error("tar-out " + partition.device);
        }
        if (guestfs_umount_all(m_g.get()) != 0 && written) {
            written = error("umount-all");
        }
        return written;
    }

private:
    std::unexpected<util::Error> error(const std::string& what) const {
        const char* message = guestfs_last_error(m_g.get());
        return fail(Errc::failed, "libguestfs ", what, ": ", message ? message : "failed");
    }

    GuestfsHandle m_g;
};

// The content hash a manifest path stands for, following symlinks inside the image
// (mcopy copies what a link points to).
std::optional<std::string> content_of(const std::map<std::string, ManifestFile>& files,
                                      std::string path) {
    for (int hops = 0; hops < 16; ++hops) {
        auto it = files.find(path);
        if (it == files.end()) {
            return std::nullopt;
        }
        if (it->second.symlink.empty()) {
            return it->second.sha256;
        }
        const fs::path target =
            (fs::path(path).parent_path() / it->second.symlink).lexically_normal();
        path = target.generic_string();
    }
    return std::nullopt;
}

std::string strip_dot(const std::string& name) {
    std::string out = name.starts_with("./") ? name.substr(2) : name;
    while (!out.empty() && out.back() == '/') {
        out.pop_back();
    }
    return out;
}

void check_manifest(const fs::path& image_dir, const std::map<std::string, ManifestFile>& listed,
                    VerifyReport& report) {
    auto actual_json = make_manifest(image_dir, ImageIdInputs{});
    if (!actual_json) {
        report.checks.push_back({"manifest: files", false, actual_json.error().message});
        return;
    }
    auto actual = manifest_files((*actual_json)["files"], image_dir.string());
    if (!actual) {
        report.checks.push_back({"manifest: files", false, actual.error().message});
        return;
    }
    std::size_t good = 0;
    for (const auto& [path, want] : listed) {
        auto it = actual->find(path);
        if (it == actual->end()) {
            report.checks.push_back({"manifest: " + path, false, "listed but missing"});
        } else if (it->second.symlink != want.symlink) {
            report.checks.push_back(
                {"manifest: " + path, false,
                 "link target '" + it->second.symlink + "', manifest '" + want.symlink + "'"});
        } else if (it->second.sha256 != want.sha256 || it->second.size != want.size) {
            report.checks.push_back({"manifest: " + path, false,
                                     "sha256 " + it->second.sha256.substr(0, 12) + "... (" +
                                         std::to_string(it->second.size) + " bytes), manifest " +
                                         want.sha256.substr(0, 12) + "... (" +
                                         std::to_string(want.size) + " bytes)"});
        } else {
            ++good;
        }
    }
    for (const auto& [path, entry] : *actual) {
        if (!listed.contains(path)) {
            report.checks.push_back({"manifest: " + path, false, "present but not listed"});
        }
    }
    report.checks.push_back({"manifest: files", good == listed.size(),
                             std::to_string(good) + " of " + std::to_string(listed.size()) +
                                 " files match (size and SHA-256, or link target)"});
}

void check_boot_partition(const fs::path& boot_tar,
                          const std::map<std::string, ManifestFile>& listed, VerifyReport& report) {
    const std::string what = "disk.img: boot partition files";
    auto members = read_tar_members(boot_tar);
    if (!members) {
        report.checks.push_back({what, false, members.error().message});
        return;
    }
    // The partition holds boot/ and, at its top level, disk-boot/ (the disk's own config.txt
    // and cmdline.txt); a name is looked up in disk-boot/ first.
    auto source_of = [&](const std::string& name) -> std::string {
        return content_of(listed, "disk-boot/" + name) ? "disk-boot/" + name : "boot/" + name;
    };
    std::size_t files = 0;
    std::vector<std::string> problems;
    std::map<std::string, bool> expected; // manifest entries for the partition, seen or not
    for (const auto& [path, entry] : listed) {
        for (const std::string prefix : {"boot/", "disk-boot/"}) {
            if (path.starts_with(prefix) && content_of(listed, path)) {
                expected[path] = false;
            }
        }
    }
    for (const auto& [raw, member] : *members) {
        const std::string name = strip_dot(raw);
        if (member.type != 'f') {
            continue; // directories; FAT has nothing else
        }
        ++files;
        const std::string source = source_of(name);
        const auto want = content_of(listed, source);
        if (!want) {
            problems.push_back(name + ": not in the manifest's boot/ or disk-boot/");
        } else if (*want != member.sha256) {
            problems.push_back(name + ": content differs from " + source);
        }
        expected[source] = true;
    }
    for (const auto& [path, seen] : expected) {
        // A manifest directory entry has no file of its own; only files must be on the FAT.
        if (!seen) {
            problems.push_back(path + ": in the manifest but not on the boot partition");
        }
    }
    report.checks.push_back({what, problems.empty(),
                             problems.empty()
                                 ? std::to_string(files) + " files match boot/ and disk-boot/"
                                 : util::join(problems, "; ")});
}

// Which name of a hard-link group carries the data depends on the order a tar writer walks
// the tree (sorted for rootfs.tar, readdir order inside the appliance): give every name of a
// group the data member's attributes, so only real differences remain.
std::map<std::string, TarMember> resolve_hard_links(std::map<std::string, TarMember> members) {
    std::map<std::string, TarMember> out = members;
    for (auto& [name, member] : out) {
        if (member.type == 'h') {
            auto target = members.find(member.link);
            if (target != members.end() && target->second.type == 'f') {
                member = target->second;
            }
        }
    }
    return out;
}

void check_root_partition(const fs::path& rootfs_tar, const fs::path& root_tar,
                          VerifyReport& report) {
    const std::string what = "disk.img: root filesystem vs rootfs.tar";
    auto expected = read_tar_members(rootfs_tar);
    auto found = expected ? read_tar_members(root_tar) : expected;
    if (!expected || !found) {
        report.checks.push_back({what, false, (!expected ? expected : found).error().message});
        return;
    }
    const std::vector<Difference> differences =
        diff_tar_members(resolve_hard_links(std::move(*expected)),
                         resolve_hard_links(std::move(*found)), "disk.img");
    std::vector<std::string> problems;
    for (const Difference& d : differences) {
        const std::string member = strip_dot(d.member);
        // mke2fs makes lost+found; it is not part of the image's files.
        if (member == "lost+found" || member.starts_with("lost+found/")) {
            continue;
        }
        problems.push_back((member.empty() ? "/" : member) + ": " + d.what);
    }
    std::string detail = "every member matches (type, mode, owner, mtime, link, content)";
    if (!problems.empty()) {
        detail = std::to_string(problems.size()) + " differences, first: " + problems.front();
        for (std::size_t i = 1; i < problems.size() && i < 5; ++i) {
            detail += "; " + problems[i];
        }
    }
    report.checks.push_back({what, problems.empty(), detail});
}

void check_disk(const fs::path& image_dir, const std::map<std::string, ManifestFile>& listed,
                const InspectorFactory& open_disk, VerifyReport& report) {
    const fs::path disk = image_dir / "disk.img";
    auto inspector = open_disk(disk);
    if (!inspector) {
        report.checks.push_back({"disk.img: open", false, inspector.error().message});
        return;
    }
    auto parts = (*inspector)->partitions();
    if (!parts) {
        report.checks.push_back({"disk.img: partitions", false, parts.error().message});
        return;
    }
    const bool layout_ok = parts->size() == 2 && (*parts)[0].mbr_id == 0x0c &&
                           (*parts)[0].fs_type == "vfat" && (*parts)[1].mbr_id == 0x83 &&
                           (*parts)[1].fs_type == "ext4";
    std::string layout;
    for (const GuestPartition& p : *parts) {
        char id[8];
        std::snprintf(id, sizeof id, "0x%02x", p.mbr_id);
        layout += (layout.empty() ? "" : ", ") + std::to_string(p.number) + ": " + id + " " +
                  (p.fs_type.empty() ? "unknown" : p.fs_type) +
                  (p.label.empty() ? "" : " '" + p.label + "'");
    }
    report.checks.push_back(
        {"disk.img: partitions", layout_ok,
         layout_ok ? layout : layout + " (expected 1: 0x0c vfat, 2: 0x83 ext4)"});
    if (!layout_ok) {
        return;
    }
    for (const GuestPartition& p : *parts) {
        auto clean = (*inspector)->check_filesystem(p);
        report.checks.push_back(
            {"disk.img: fsck partition " + std::to_string(p.number) + " (" + p.fs_type + ")",
             clean.has_value(), clean ? "clean" : clean.error().message});
    }
    auto temp = util::TempDir::create("uhs-verify-");
    if (!temp) {
        report.checks.push_back({"disk.img: contents", false, temp.error().message});
        return;
    }
    const fs::path boot_tar = temp->path() / "boot.tar";
    const fs::path root_tar = temp->path() / "root.tar";
    if (auto out = (*inspector)->tar_out((*parts)[0], boot_tar); !out) {
        report.checks.push_back({"disk.img: boot partition files", false, out.error().message});
    } else {
        check_boot_partition(boot_tar, listed, report);
    }
    if (!listed.contains("rootfs.tar")) {
        report.checks.push_back(
            {"disk.img: root filesystem vs rootfs.tar", false, "no rootfs.tar in the manifest"});
    } else if (auto out = (*inspector)->tar_out((*parts)[1], root_tar); !out) {
        report.checks.push_back(
            {"disk.img: root filesystem vs rootfs.tar", false, out.error().message});
    } else {
        check_root_partition(image_dir / "rootfs.tar", root_tar, report);
    }
}

} // namespace

util::Result<std::unique_ptr<DiskInspector>> open_with_guestfs(const fs::path& disk) {
    GuestfsHandle g(guestfs_create());
    if (!g) {
        return fail(Errc::failed, "libguestfs: cannot create a handle");
    }
    // Errors are read with guestfs_last_error and reported once, by us.
    guestfs_set_error_handler(g.get(), nullptr, nullptr);
    const char* settings = std::getenv("LIBGUESTFS_BACKEND_SETTINGS");
    if ((!settings || !*settings) && !cpu_has_virtualisation()) {
        char force_tcg[] = "force_tcg";
        char* list[] = {force_tcg, nullptr};
        guestfs_set_backend_settings(g.get(), list);
    }
    if (guestfs_add_drive_opts(g.get(), disk.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
                               GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) != 0) {
        const char* message = guestfs_last_error(g.get());
        return fail(Errc::invalid_input, disk.string(), ": ", message ? message : "cannot add");
    }
    if (guestfs_launch(g.get()) != 0) {
        const char* message = guestfs_last_error(g.get());
        return fail(Errc::failed, "libguestfs could not start its appliance: ",
                    message ? message : "launch failed",
                    " (it needs a host kernel in /boot: apt-get install linux-image-amd64)");
    }
    return std::make_unique<GuestfsInspector>(std::move(g));
}

util::Result<VerifyReport> verify_image(const fs::path& image_dir,
                                        const InspectorFactory& open_disk) {
    const auto listed = UHS_TRY(read_manifest(image_dir)).files;
    VerifyReport report;
    check_manifest(image_dir, listed, report);
    if (listed.contains("disk.img")) {
        check_disk(image_dir, listed, open_disk, report);
    }
    return report;
}

} // namespace uhs::image
