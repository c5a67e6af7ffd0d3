// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/fetch/store.hpp"
#include "builder/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace uhs::fetch {

enum class Progress { auto_tty, never };

struct FetchOptions {
    int parallel = 4;                       // transfers at once
    int attempts = 4;                       // per file, including the first
    std::chrono::milliseconds backoff{500}; // doubled after each failed attempt
    long connect_timeout_seconds = 15;
    // Abort a transfer slower than low_speed_bytes_per_second for stall_timeout_seconds.
    long stall_timeout_seconds = 30;
    long low_speed_bytes_per_second = 1024;
    long transfer_timeout_seconds = 3600; // the longest one transfer may take, in total
    Progress progress = Progress::auto_tty;
};

// The most an InRelease may weigh (Debian's is a few hundred KiB); indices are capped by the
// size their InRelease declares.
inline constexpr std::uint64_t k_max_inrelease_bytes = 16u << 20;

// GETs a (small) file into memory with libcurl (http, https, file), retrying transient failures
// with backoff. Fails with Errc::integrity, without retrying, as soon as the body exceeds
// `max_bytes`; Errc::not_found on 404/410 (no retry), Errc::timeout, Errc::refused or Errc::io
// for network errors after the last attempt. The message names the URL.
util::Result<std::string> http_get(const std::string& url, const FetchOptions& options,
                                   std::uint64_t max_bytes);

struct DownloadItem {
    std::string url;
    std::string sha256;
    std::uint64_t size = 0;
    std::string label; // shown in errors ("coreutils_9.7-3_arm64.deb")
};

struct DownloadReport {
    std::size_t downloaded = 0;
    std::size_t already_present = 0;
    std::uint64_t bytes = 0;
};

// Downloads every item that is not already in `store` (objects present are re-hashed; a
// corrupt one is removed and downloaded again), `options.parallel` at a time with libcurl
// multi. Partial files live in the store's tmp/ as SHA.partial, flock()ed while a transfer
// writes them (a second run on the same store downloads into a private temp file instead), and
// are resumed (HTTP Range) on retry; each file is checked for its size and SHA-256, read
// through the same descriptor, before it is renamed into the store. A progress
// line goes to `progress` when it is a TTY (Progress::auto_tty) — stderr in the CLI.
// Fails on the first item that still fails after its attempts (other transfers are stopped):
// Errc::integrity for a hash/size mismatch, Errc::not_found for 404, network kinds otherwise.
util::Result<DownloadReport> download_all(const std::vector<DownloadItem>& items,
                                          const Store& store, const FetchOptions& options,
                                          std::ostream& progress, int progress_fd);

} // namespace uhs::fetch
