// SPDX-License-Identifier: Apache-2.0
#include "builder/fetch/http.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <memory>
#include <thread>

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::fetch {
namespace {

// curl_global_init once per process, before any handle.
void ensure_curl_global() {
    static const bool k_initialised = [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }();
    (void)k_initialised;
}

struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
    void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;

util::Errc classify(CURLcode code) {
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return util::Errc::timeout;
    case CURLE_COULDNT_CONNECT:
        return util::Errc::refused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_FILE_COULDNT_READ_FILE:
        return util::Errc::not_found;
    default:
        return util::Errc::io;
    }
}

bool retryable(util::Errc code, long http_status) {
    if (http_status == 404 || http_status == 410 || http_status == 403) {
        return false;
    }
    return code != util::Errc::not_found && code != util::Errc::integrity;
}

void set_common(CURL* c, const std::string& url, const FetchOptions& options, char* error) {
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_bytes_per_second);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, options.transfer_timeout_seconds);
    // Repositories are http(s) or local files; a redirect may only go to http(s).
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "uhs-image");
    error[0] = '\0';
}

std::string describe(CURLcode code, const char* error, long status) {
    if (status >= 400) {
        return "HTTP " + std::to_string(status);
    }
    return error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
}

std::chrono::milliseconds backoff_for(const FetchOptions& options, int attempt) {
    return options.backoff * (1 << std::min(attempt - 1, 6));
}

struct BoundedBody {
    std::string data;
    std::uint64_t max_bytes = 0;
    bool too_big = false;
};

std::size_t append_bounded(char* data, std::size_t size, std::size_t count, void* user) {
    auto* body = static_cast<BoundedBody*>(user);
    std::size_t n = size * count;
    if (body->data.size() + n > body->max_bytes) {
        body->too_big = true;
        return 0; // abort the transfer: it cannot be the file we expect
    }
    body->data.append(data, n);
    return n;
}

} // namespace

util::Result<std::string> http_get(const std::string& url, const FetchOptions& options,
                                   std::uint64_t max_bytes) {
    ensure_curl_global();
    util::Error last{"no attempt", util::Errc::failed};
    for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
        Easy easy(curl_easy_init());
        if (!easy) {
            return util::fail(util::Errc::failed, "curl_easy_init failed");
        }
        char error[CURL_ERROR_SIZE];
        BoundedBody body{.max_bytes = max_bytes};
        set_common(easy.get(), url, options, error);
        curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, append_bounded);
        curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &body);
        CURLcode code = curl_easy_perform(easy.get());
        long status = 0;
        curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
        if (code == CURLE_OK) {
            return std::move(body.data);
        }
        if (body.too_big) {
            return util::fail(util::Errc::integrity, url, ": larger than the ",
                              std::to_string(max_bytes), " bytes expected");
        }
        util::Errc kind = status == 404 || status == 410 ? util::Errc::not_found : classify(code);
        last = util::Error{url + ": " + describe(code, error, status), kind};
        if (!retryable(kind, status)) {
            break;
        }
        if (attempt < options.attempts) {
            std::this_thread::sleep_for(backoff_for(options, attempt));
        }
    }
    return std::unexpected(last);
}

namespace {

struct Transfer {
    const DownloadItem* item = nullptr;
    std::filesystem::path partial;
    util::UniqueFd fd;   // flock()ed for as long as this transfer owns `partial`
    bool shared = false; // `partial` is SHA.partial (resumable), not a private temp file
    Easy easy;
    int attempt = 0;
    std::uint64_t offset = 0;   // bytes already on disk when this attempt started
    std::uint64_t received = 0; // bytes written by this attempt
    bool too_big = false;
    char error[CURL_ERROR_SIZE] = {};
};

std::size_t write_to_file(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::size_t n = size * count;
    if (t->offset + t->received + n > t->item->size) {
        t->too_big = true;
        return 0; // more bytes than the index promised: abort, it cannot be the right file
    }
    for (std::size_t done = 0; done < n;) {
        const ssize_t w = ::write(t->fd.get(), data + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return 0;
        }
        done += static_cast<std::size_t>(w);
    }
    t->received += n;
    return n;
}

struct OpenPartial {
    std::filesystem::path path;
    util::UniqueFd fd;
    bool shared = false;
};

// Opens and flock()s DIR/SHA.partial. Another run on the same store holding it means two
// writers would interleave their bytes, so this run then downloads into a private
// SHA.partial.XXXXXX instead (not resumable across runs, removed when the transfer fails).
util::Result<OpenPartial> open_partial(const std::filesystem::path& dir, const std::string& sha) {
    const std::filesystem::path shared = dir / (sha + ".partial");
    for (int attempt = 0; attempt < 5; ++attempt) {
        util::UniqueFd fd(::open(shared.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (!fd) {
            return util::fail(util::Errc::io, "cannot write ", shared.string(), ": ",
                              util::errno_text(errno));
        }
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                return util::fail(util::Errc::io, "cannot lock ", shared.string(), ": ",
                                  util::errno_text(errno));
            }
            break;
        }
        // The holder may have renamed the file into the store (or removed it) between our
        // open and flock: then we locked an old inode, and must open the name again.
        struct stat held {};
        struct stat named {};
        if (::fstat(fd.get(), &held) == 0 && ::stat(shared.c_str(), &named) == 0 &&
            held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
            return OpenPartial{shared, std::move(fd), true};
        }
    }
    std::string name = (dir / (sha + ".partial.XXXXXX")).string();
    util::UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
    if (!fd) {
        return util::fail(util::Errc::io, "cannot create a temp file in ", dir.string(), ": ",
                          util::errno_text(errno));
    }
    return OpenPartial{name, std::move(fd), false};
}

util::Status truncate_to_empty(const Transfer& t) {
    if (::ftruncate(t.fd.get(), 0) != 0 || ::lseek(t.fd.get(), 0, SEEK_SET) != 0) {
        return util::fail(util::Errc::io, "cannot truncate ", t.partial.string(), ": ",
                          util::errno_text(errno));
    }
    return {};
}

struct Pending {
    const DownloadItem* item;
    int attempt;
    std::chrono::steady_clock::time_point not_before;
};

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        ++u;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f %s", bytes, units[u]);
    return buffer;
}

} // namespace

util::Result<DownloadReport> download_all(const std::vector<DownloadItem>& items,
                                          const Store& store, const FetchOptions& options,
                                          std::ostream& progress, int progress_fd) {
    ensure_curl_global();
    DownloadReport report;
    std::deque<Pending> pending;
    std::uint64_t total_bytes = 0;
    auto now = std::chrono::steady_clock::now();
    for (const DownloadItem& item : items) {
        if (store.contains(item.sha256)) {
            // Present is not enough: the bytes on disk may have rotted since.
            auto intact = store.verify(item.sha256);
            if (intact) {
                ++report.already_present;
                continue;
            }
            if (intact.error().code != util::Errc::integrity) {
                return std::unexpected(intact.error());
            }
        }
        pending.push_back(Pending{&item, 1, now});
        total_bytes += item.size;
    }
    const std::size_t total_files = pending.size();
    if (pending.empty()) {
        return report;
    }
    std::filesystem::path temp_dir = UHS_TRY(store.temp_dir());
    Multi multi(curl_multi_init());
    if (!multi) {
        return util::fail(util::Errc::failed, "curl_multi_init failed");
    }
    std::vector<std::unique_ptr<Transfer>> active;
    const bool show = options.progress == Progress::auto_tty && ::isatty(progress_fd) == 1;
    const auto started = std::chrono::steady_clock::now();
    auto last_draw = started - std::chrono::seconds(1);
    std::uint64_t done_bytes = 0;

    auto start = [&](const Pending& p) -> util::Status {
        auto t = std::make_unique<Transfer>();
        t->item = p.item;
        t->attempt = p.attempt;
        OpenPartial opened = UHS_TRY(open_partial(temp_dir, p.item->sha256));
        t->partial = std::move(opened.path);
        t->fd = std::move(opened.fd);
        t->shared = opened.shared;
        struct stat st {};
        if (::fstat(t->fd.get(), &st) == 0 &&
            static_cast<std::uint64_t>(st.st_size) <= p.item->size) {
            t->offset = static_cast<std::uint64_t>(st.st_size);
        } else {
            UHS_CHECK(truncate_to_empty(*t));
        }
        if (t->offset == p.item->size && t->offset > 0) {
            // Complete already (an earlier run died before the rename): verify it now.
            auto status = store.insert_open_file(t->fd.get(), t->partial, p.item->sha256);
            if (status) {
                ++report.downloaded;
                done_bytes += p.item->size;
                return {};
            }
            if (status.error().code != util::Errc::integrity) {
                return status;
            }
            t->offset = 0;
            UHS_CHECK(truncate_to_empty(*t));
        }
        if (::lseek(t->fd.get(), static_cast<off_t>(t->offset), SEEK_SET) < 0) {
            return util::fail(util::Errc::io, "cannot seek in ", t->partial.string(), ": ",
                              util::errno_text(errno));
        }
        t->easy.reset(curl_easy_init());
        if (!t->easy) {
            return util::fail(util::Errc::failed, "curl_easy_init failed");
        }
        set_common(t->easy.get(), p.item->url, options, t->error);
        curl_easy_setopt(t->easy.get(), CURLOPT_WRITEFUNCTION, write_to_file);
        curl_easy_setopt(t->easy.get(), CURLOPT_WRITEDATA, t.get());
        curl_easy_setopt(t->easy.get(), CURLOPT_PRIVATE, t.get());
        if (t->offset > 0) {
            curl_easy_setopt(t->easy.get(), CURLOPT_RESUME_FROM_LARGE,
                             static_cast<curl_off_t>(t->offset));
        }
        curl_multi_add_handle(multi.get(), t->easy.get());
        active.push_back(std::move(t));
        return {};
    };

    auto cleanup_active = [&] {
        for (auto& t : active) {
            curl_multi_remove_handle(multi.get(), t->easy.get());
            if (!t->shared) {
                std::error_code ec;
                std::filesystem::remove(t->partial, ec);
            }
        }
        active.clear();
    };

    while (!pending.empty() || !active.empty()) {
        now = std::chrono::steady_clock::now();
        for (auto it = pending.begin();
             it != pending.end() && active.size() < static_cast<std::size_t>(options.parallel);) {
            if (it->not_before <= now) {
                Pending p = *it;
                it = pending.erase(it);
                auto started_ok = start(p);
                if (!started_ok) {
                    cleanup_active();
                    return std::unexpected(started_ok.error());
                }
            } else {
                ++it;
            }
        }
        int running = 0;
        curl_multi_perform(multi.get(), &running);
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
            if (msg->msg != CURLMSG_DONE) {
                continue;
            }
            CURLcode code = msg->data.result;
            Transfer* raw = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
            auto owner = std::find_if(active.begin(), active.end(),
                                      [&](const auto& t) { return t.get() == raw; });
            std::unique_ptr<Transfer> t = std::move(*owner);
            active.erase(owner);
            curl_multi_remove_handle(multi.get(), t->easy.get());
            long status = 0;
            curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status);
            const DownloadItem& item = *t->item;
            util::Error error;
            if (code == CURLE_OK) {
                std::uint64_t have = t->offset + t->received;
                if (have != item.size) {
                    error = {item.label + ": size mismatch: expected " + std::to_string(item.size) +
                                 " bytes, got " + std::to_string(have) + " (" + item.url + ")",
                             util::Errc::io};
                    std::error_code ec;
                    std::filesystem::remove(t->partial, ec);
                } else if (auto in = store.insert_open_file(t->fd.get(), t->partial, item.sha256);
                           !in) {
                    if (in.error().code == util::Errc::integrity) {
                        std::error_code ec;
                        std::filesystem::remove(t->partial, ec);
                    }
                    error = {item.label + ": " + in.error().message + " (" + item.url + ")",
                             in.error().code};
                } else {
                    ++report.downloaded;
                    report.bytes += t->received;
                    done_bytes += item.size;
                    continue;
                }
            } else if (t->too_big) {
                std::error_code ec;
                std::filesystem::remove(t->partial, ec);
                error = {item.label + ": server sent more than the expected " +
                             std::to_string(item.size) + " bytes (" + item.url + ")",
                         util::Errc::integrity};
            } else {
                if (code == CURLE_RANGE_ERROR || status == 416) {
                    // The server ignored or refused the range: start over from byte 0.
                    std::error_code ec;
                    std::filesystem::remove(t->partial, ec);
                }
                util::Errc kind =
                    status == 404 || status == 410 ? util::Errc::not_found : classify(code);
                error = {item.label + ": " + describe(code, t->error, status) + " (" + item.url +
                             ")",
                         kind};
            }
            if (!t->shared) {
                std::error_code ec;
                std::filesystem::remove(t->partial, ec); // private: nobody can resume it
            }
            if (t->attempt < options.attempts && retryable(error.code, status)) {
                pending.push_back(
                    Pending{t->item, t->attempt + 1,
                            std::chrono::steady_clock::now() + backoff_for(options, t->attempt)});
                continue;
            }
            cleanup_active();
            if (show) {
                progress << '\n';
            }
            if (t->attempt > 1) {
                error.message += " after " + std::to_string(t->attempt) + " attempts";
            }
            return std::unexpected(error);
        }
        if (show && std::chrono::steady_clock::now() - last_draw > std::chrono::milliseconds(200)) {
            last_draw = std::chrono::steady_clock::now();
            std::uint64_t in_flight = 0;
            for (const auto& t : active) {
                in_flight += t->received;
            }
            double seconds = std::chrono::duration<double>(last_draw - started).count();
            double got = static_cast<double>(done_bytes + in_flight);
            double rate = seconds > 0 ? got / seconds : 0;
            double left = rate > 0 ? (static_cast<double>(total_bytes) - got) / rate : 0;
            int width = 24;
            int filled = total_bytes > 0
                             ? static_cast<int>(got / static_cast<double>(total_bytes) * width)
                             : width;
            filled = std::clamp(filled, 0, width);
            char eta[32];
            std::snprintf(eta, sizeof eta, "%d:%02d", static_cast<int>(left) / 60,
                          static_cast<int>(left) % 60);
            progress << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
                     << std::string(static_cast<std::size_t>(width - filled), ' ') << "] "
                     << report.downloaded << "/" << total_files << " files  " << human_bytes(got)
                     << "/" << human_bytes(static_cast<double>(total_bytes)) << "  "
                     << human_bytes(rate) << "/s  ETA " << eta << "  " << std::flush;
        }
        if (!active.empty()) {
            curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
        } else if (!pending.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    if (show) {
        progress << '\n';
    }
    return report;
}

} // namespace uhs::fetch
