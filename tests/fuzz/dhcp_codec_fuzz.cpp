// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the DHCP codec and the proxy decision: whatever the bytes, decoding
// must not crash, and anything decoded must survive encode → decode with the same options.
// Build: cmake -DUHS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++; run: ./dhcp_codec_fuzz
// -max_total_time=60
#include "netboot/dhcp/packet.hpp"
#include "netboot/dhcp/proxy.hpp"

#include <cstdlib>

using namespace uhs::netboot::dhcp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto packet = decode(std::span(data, size));
    if (!packet) {
        return 0;
    }
    ProxyConfig config;
    config.tftp_server = 0x0a010002;
    config.allow_unknown = AllowUnknown::yes;
    const Decision d = decide(config, *packet, TftpHealth::healthy);
    if (d.reply && !encode(*d.reply)) {
        std::abort();
    }
    if (const Bytes* v = packet->find(Option::vendor_specific)) {
        (void)decode_suboptions(*v);
    }
    auto wire = encode(*packet);
    if (!wire) {
        return 0; // sname/file too long to re-encode: fine
    }
    auto again = decode(*wire);
    if (!again || again->options != packet->options || again->xid != packet->xid) {
        std::abort();
    }
    return 0;
}
