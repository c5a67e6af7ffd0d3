// SPDX-License-Identifier: Apache-2.0
// Reads "A B" pairs on stdin and prints "A B -1|0|1" using uhs's Debian version comparison;
// the dpkg oracle test compares this with `dpkg --compare-versions`.
#include "builder/apt/version.hpp"

#include <iostream>
#include <string>

int main() {
    std::string a;
    std::string b;
    while (std::cin >> a >> b) {
        int c = uhs::apt::compare_versions(a, b);
        std::cout << a << ' ' << b << ' ' << (c < 0 ? -1 : (c > 0 ? 1 : 0)) << '\n';
    }
    return 0;
}
