// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstddef>
#include <functional>

namespace uhs::util {

// Runs job(0) ... job(count - 1) on up to `workers` threads (0: one per core), each index
// once. After a job fails no new one starts; the error returned is that of the lowest failed
// index, so the message does not depend on scheduling. Jobs must not throw.
Status for_each_parallel(std::size_t count, const std::function<Status(std::size_t)>& job,
                         unsigned workers = 0);

} // namespace uhs::util
