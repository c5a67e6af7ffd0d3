// SPDX-License-Identifier: Apache-2.0
#include "builder/util/locale.hpp"

namespace uhs::util {

ScopedUtf8Locale::ScopedUtf8Locale()
    : m_locale(::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))),
      m_old(m_locale ? ::uselocale(m_locale) : static_cast<locale_t>(0)) {}

ScopedUtf8Locale::~ScopedUtf8Locale() {
    if (m_locale) {
        ::uselocale(m_old);
        ::freelocale(m_locale);
    }
}

} // namespace uhs::util
