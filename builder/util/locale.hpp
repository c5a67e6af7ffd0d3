// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <locale.h>

namespace uhs::util {

// Makes this thread's character set UTF-8 while alive (whatever LANG says), so libarchive
// writes and reads the pax UTF-8 names of Debian's files (ca-certificates'
// "Főtanúsítvány.pem") instead of failing in the C locale, identically everywhere.
class ScopedUtf8Locale {
public:
    ScopedUtf8Locale();
    ~ScopedUtf8Locale();
    ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
    ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

private:
    locale_t m_locale;
    locale_t m_old;
};

} // namespace uhs::util
