// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::rootfs {

// Where the target's dpkg spent its time, read back from its /var/log/dpkg.log. Under
// qemu-user this is most of a cold build, and the split says which part is the packages' own
// maintainer scripts (arm64 code that has to run emulated) and which is dpkg's handling of
// the archives. dpkg's log has one-second timestamps: each line is charged with the time since
// the line before it, so the parts add up to the log's span.
struct DpkgTime {
    std::string package;  // "udev" (the architecture qualifier dropped)
    double prepare = 0;   // dpkg reading the archive and checking it, before "install"
    double unpack = 0;    // the preinst and the files, up to "unpacked"
    double configure = 0; // conffiles and the postinst, up to "installed"
    double triggers = 0;  // its trigger processing
    double total() const { return prepare + unpack + configure + triggers; }
};

struct DpkgLogSummary {
    double prepare = 0;
    double unpack = 0;
    double configure = 0;
    double triggers = 0;
    std::vector<DpkgTime> packages; // by total time, longest first; ties by name
    double total() const { return prepare + unpack + configure + triggers; }
};

// Lines that are not dpkg's "DATE TIME WORD ..." records are skipped, so a log cut short by a
// killed build still sums what it has.
DpkgLogSummary summarize_dpkg_log(std::string_view log);

// "configure 410 s (udev 57, ca-certificates 56, nfs-common 41), prepare 55 s, unpack 54 s,
// triggers 0 s": the parts, with the packages whose maintainer scripts took longest.
std::string format_dpkg_summary(const DpkgLogSummary& summary, std::size_t top = 3);

} // namespace uhs::rootfs
