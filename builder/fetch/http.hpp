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
    long stall_timeout_seconds = 30; // abort when no byte arrives for this long
    Progress progress = Progress::auto_tty;
};

// GETs a (small) file into memory with libcurl (http, https, file), retrying transient failures
// with backoff. Fails with Errc::not_found on 404/410 (no retry), Errc::timeout, Errc::refused
// or Errc::io for network errors after the last attempt. The message names the URL.
util::Result<std::string> http_get(const std::string& url, const FetchOptions& options);

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

// Downloads every item that is not already in `store`, `options.parallel` at a time with
// libcurl multi. Partial files live in the store's tmp/ and are resumed (HTTP Range) on retry;
// each file is checked for its size and SHA-256 before it is renamed into the store. A progress
// line goes to `progress` when it is a TTY (Progress::auto_tty) — stderr in the CLI.
// Fails on the first item that still fails after its attempts (other transfers are stopped):
// Errc::integrity for a hash/size mismatch, Errc::not_found for 404, network kinds otherwise.
util::Result<DownloadReport> download_all(const std::vector<DownloadItem>& items,
                                          const Store& store, const FetchOptions& options,
                                          std::ostream& progress, int progress_fd);

} // namespace uhs::fetch
