// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/fs.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>

#include <unistd.h>

namespace uhs::test {

inline std::filesystem::path data_dir() {
    return UHS_TEST_DATA_DIR;
}
inline std::filesystem::path source_dir() {
    return UHS_SOURCE_DIR;
}

// A private temp directory per test; kept (and named on stderr) when the test fails, so the
// evidence is there to look at.
class TestDir {
public:
    TestDir() : m_dir(*util::TempDir::create("uhs-test-")) {}
    ~TestDir() {
        if (Catch::getResultCapture().lastAssertionPassed() == false) {
            m_dir.keep();
            std::cerr << "kept test directory " << m_dir.path() << '\n';
        }
    }
    const std::filesystem::path& path() const { return m_dir.path(); }

private:
    util::TempDir m_dir;
};

// Changes the working directory for one scope.
class ScopedChdir {
public:
    explicit ScopedChdir(const std::filesystem::path& dir)
        : m_old(std::filesystem::current_path()) {
        std::filesystem::current_path(dir);
    }
    ~ScopedChdir() { std::filesystem::current_path(m_old); }
    ScopedChdir(const ScopedChdir&) = delete;
    ScopedChdir& operator=(const ScopedChdir&) = delete;

private:
    std::filesystem::path m_old;
};

} // namespace uhs::test
