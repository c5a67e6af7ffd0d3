// SPDX-License-Identifier: Apache-2.0
#include "builder/util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace uhs::util {

Status for_each_parallel(std::size_t count, const std::function<Status(std::size_t)>& job,
                         unsigned workers) {
    if (workers == 0) {
        workers = std::max(1u, std::thread::hardware_concurrency());
    }
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::optional<std::pair<std::size_t, Error>> first_error;
    auto work = [&] {
        // An index once taken always runs: every index below a failed one is then run, so
        // the lowest failure is always seen.
        while (!failed.load()) {
            const std::size_t i = next.fetch_add(1);
            if (i >= count) {
                return;
            }
            if (Status status = job(i); !status) {
                const std::lock_guard lock(mutex);
                if (!first_error || i < first_error->first) {
                    first_error.emplace(i, status.error());
                }
                failed = true;
            }
        }
    };
    const std::size_t threads = std::min<std::size_t>(workers, count);
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) {
        pool.emplace_back(work);
    }
    work(); // the calling thread is one of the workers
    pool.clear();
    if (first_error) {
        return std::unexpected(first_error->second);
    }
    return {};
}

} // namespace uhs::util
