// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fd.hpp"

#include <unistd.h>

namespace uhs::util {

void UniqueFd::reset(int fd) {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
    m_fd = fd;
}

} // namespace uhs::util
