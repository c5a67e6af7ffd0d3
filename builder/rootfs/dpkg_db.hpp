// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace uhs::rootfs {

// One package as the dpkg database records it.
struct DpkgPackage {
    // The fields of its DEBIAN/control, in file order (continuation lines joined by '\n').
    std::vector<std::pair<std::string, std::string>> control;
    std::string status = "install ok unpacked"; // want, error flag, state
    std::vector<std::string> paths;             // "/.", "/usr", "/usr/bin/x", as dpkg lists them
    // control.tar members other than control (md5sums, conffiles, preinst, ...).
    std::map<std::string, std::string> control_files;
    // conffile path -> md5 hex, for the Conffiles field.
    std::vector<std::pair<std::string, std::string>> conffiles;

    std::string name() const;
    std::string architecture() const;
    bool multi_arch_same() const;
};

struct DpkgDatabase {
    std::string architecture; // the native architecture ("arm64")
    std::vector<DpkgPackage> packages;
};

// One status stanza: fields in dpkg's own order (Package, Essential, Protected, Status,
// Priority, Section, Installed-Size, ..., Conffiles, Description, then any other field in
// control order), so dpkg reads it back and rewrites it unchanged.
std::string format_status_stanza(const DpkgPackage& package);

// Writes the dpkg database under `root`/var/lib/dpkg: status (stanzas sorted by package name),
// an empty available, arch, and per package info/NAME[:ARCH].list plus its control files
// (maintainer scripts 0755). Creates info/, updates/, triggers/, alternatives/. Each file
// appears whole (temp + rename). With no packages this is the empty database mmdebstrap
// starts the target's dpkg from.
util::Status write_dpkg_database(const std::filesystem::path& root, const DpkgDatabase& db);

// Package name -> Status field of `root`/var/lib/dpkg/status.
util::Result<std::map<std::string, std::string>>
read_dpkg_status(const std::filesystem::path& root);

} // namespace uhs::rootfs
