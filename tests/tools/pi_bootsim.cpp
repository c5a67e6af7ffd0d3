// SPDX-License-Identifier: Apache-2.0
// pi-bootsim: a Raspberry Pi 4/5 EEPROM bootloader simulator for tests and benches.
//
// For each simulated node it broadcasts the bootloader's DISCOVER, merges the home router's
// address OFFER with the proxy's PXE OFFER, completes REQUEST/ACK with the router, then reads
// over TFTP (tsize 0, blksize 1468) what a CM5 reads: a probe of config.txt (one block, then
// ERROR 0 "Early terminate"), config.txt, //config.txt, the DTB, cmdline.txt, the kernel and the
// initramfs, and checks every byte against the image directories given with --expect. With
// --self-update it first asks for pieeprom.sig, as a bootloader with ENABLE_SELF_UPDATE=1 does,
// and when one is served fetches pieeprom.upd and checks it against the sig's sha256.
// Exit 0 when every node booted, 1 otherwise; one line per node and file on stdout.
#include "builder/util/sha256.hpp"
#include "netboot/dhcp/proxy.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace uhs::netboot;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct NodeSpec {
    std::array<std::uint8_t, 6> mac{};
    std::uint32_t serial = 0;
    std::string dir; // TFTP prefix directory
    std::string model = "RPi5";
    dhcp::FourCcOrder order = dhcp::FourCcOrder::reversed;
};

struct Options {
    std::string interface;
    std::vector<NodeSpec> nodes;
    std::vector<std::string> expect; // image directories (out/<id>)
    std::string dtb = "bcm2712-rpi-cm5-cm5io.dtb";
    bool dhcp = true;
    bool router = true;
    std::string server; // TFTP server when DHCP is skipped
    std::uint16_t tftp_port = 69;
    int timeout_s = 30;
    int retries = 3;
    unsigned blksize = 1468;
    bool consistent = false;
    int pause_after = -1; // pause after this many files (0-based index)
    int pause_ms = 0;
    std::string bind_address; // TFTP source address
    bool quiet = false;
    int ack_delay_us = 0;     // slows transfers down (fault tests)
    int fuzz = 0;             // send this many malformed DISCOVERs and exit
    double flood_s = 0;       // send DISCOVERs as fast as answered for this long, report the rate
    bool self_update = false; // probe pieeprom.sig (and fetch pieeprom.upd) before booting
};

std::mutex g_out_mutex;
std::uint64_t g_flood_offers = 0;
void say(const std::string& line) {
    std::lock_guard lock(g_out_mutex);
    std::cout << line << '\n' << std::flush;
}

std::optional<std::array<std::uint8_t, 6>> parse_mac(const std::string& text) {
    std::array<std::uint8_t, 6> m{};
    unsigned v[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) !=
        6) {
        return std::nullopt;
    }
    for (int i = 0; i < 6; ++i) {
        m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
    }
    return m;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {};
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// ---- DHCP -----------------------------------------------------------------------------------

struct Lease {
    std::uint32_t address = 0;
    std::uint32_t router_id = 0;
    std::uint32_t tftp = 0;
    bool router_offer = false;
    bool proxy_offer = false;
    bool acked = false;
};

bool contains(const dhcp::Bytes& v, std::string_view s) {
    return std::search(v.begin(), v.end(), s.begin(), s.end()) != v.end();
}

std::uint32_t ip_of(const dhcp::Bytes* v) {
    if (v == nullptr || v->size() != 4) {
        return 0;
    }
    return std::uint32_t{(*v)[0]} << 24 | std::uint32_t{(*v)[1]} << 16 |
           std::uint32_t{(*v)[2]} << 8 | (*v)[3];
}

bool run_dhcp(const Options& o, std::vector<Lease>& leases) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    if (!o.interface.empty() && ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.interface.c_str(),
                                             static_cast<socklen_t>(o.interface.size())) != 0) {
        std::perror("SO_BINDTODEVICE");
        return false;
    }
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_port = htons(68);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        std::perror("bind :68");
        return false;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(67);
    to.sin_addr.s_addr = INADDR_BROADCAST;
    const auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
    auto next_send = Clock::now();
    auto xid_of = [](std::size_t i) {
        return 0x5a000000u + static_cast<std::uint32_t>(i);
    };
    auto send = [&](const dhcp::Packet& p) {
        auto wire = dhcp::encode(p);
        ::sendto(fd, wire->data(), wire->size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    };
    while (Clock::now() < deadline) {
        bool all = true;
        for (const Lease& l : leases) {
            all = all && l.proxy_offer && (!o.router || l.acked);
        }
        if (all) {
            ::close(fd);
            return true;
        }
        if (Clock::now() >= next_send) {
            // The bootloader repeats DISCOVER/REQUEST every few seconds until answered.
            for (std::size_t i = 0; i < o.nodes.size(); ++i) {
                const Lease& l = leases[i];
                if (!l.proxy_offer || (o.router && !l.router_offer)) {
                    // Broadcast flag set so dnsmasq broadcasts its answers to our fake MACs.
                    send(dhcp::make_pi_discover(o.nodes[i].mac, xid_of(i), o.nodes[i].model,
                                                o.nodes[i].serial, o.nodes[i].order,
                                                dhcp::BroadcastFlag::set));
                } else if (o.router && !l.acked) {
                    dhcp::Packet r;
                    r.xid = xid_of(i);
                    r.flags = 0x8000;
                    std::copy(o.nodes[i].mac.begin(), o.nodes[i].mac.end(), r.chaddr.begin());
                    r.set(dhcp::Option::message_type, dhcp::Bytes{3});
                    const auto a = l.address;
                    const auto s = l.router_id;
                    r.set(dhcp::Option::requested_address,
                          dhcp::Bytes{static_cast<std::uint8_t>(a >> 24),
                                      static_cast<std::uint8_t>(a >> 16),
                                      static_cast<std::uint8_t>(a >> 8),
                                      static_cast<std::uint8_t>(a)});
                    r.set(dhcp::Option::server_id, dhcp::Bytes{static_cast<std::uint8_t>(s >> 24),
                                                               static_cast<std::uint8_t>(s >> 16),
                                                               static_cast<std::uint8_t>(s >> 8),
                                                               static_cast<std::uint8_t>(s)});
                    send(r);
                }
            }
            next_send = Clock::now() + 1s;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
            continue;
        }
        std::uint8_t buf[2048];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            continue;
        }
        auto reply = dhcp::decode(std::span(buf, static_cast<std::size_t>(n)));
        if (!reply || reply->op != 2 || (reply->xid & 0xff000000u) != 0x5a000000u) {
            continue;
        }
        const std::size_t i = reply->xid & 0xffffff;
        if (i >= leases.size()) {
            continue;
        }
        Lease& l = leases[i];
        const auto type = reply->message_type();
        const dhcp::Bytes* v43 = reply->find(dhcp::Option::vendor_specific);
        if (type == dhcp::MessageType::offer && v43 && contains(*v43, "Raspberry Pi Boot")) {
            // The proxy's offer, held to what the bootloader needs: dnsmasq's exact option 43,
            // option 60 "PXEClient", our own option 97 echoed, no address, and the three places
            // the TFTP server can be named agreeing.
            const std::uint32_t sid = ip_of(reply->find(dhcp::Option::server_id));
            const dhcp::Bytes* o66 = reply->find(dhcp::Option::tftp_server);
            const std::string s66 = o66 ? std::string(o66->begin(), o66->end()) : "";
            const dhcp::Bytes* o60 = reply->find(dhcp::Option::vendor_class);
            const dhcp::Bytes* o97 = reply->find(dhcp::Option::client_guid);
            const NodeSpec& spec = o.nodes[i];
            const dhcp::Packet sent = dhcp::make_pi_discover(
                spec.mac, 0, spec.model, spec.serial, spec.order, dhcp::BroadcastFlag::clear);
            const dhcp::Bytes pxe_client{'P', 'X', 'E', 'C', 'l', 'i', 'e', 'n', 't'};
            if (reply->yiaddr != 0 || sid == 0 || sid != reply->siaddr ||
                s66 != dhcp::format_ipv4(sid) || *v43 != dhcp::raspberry_pi_option43() ||
                o60 == nullptr || *o60 != pxe_client || o97 == nullptr ||
                *o97 != *sent.find(dhcp::Option::client_guid)) {
                say("node " + spec.dir + " BAD proxy offer");
                continue;
            }
            l.proxy_offer = true;
            l.tftp = reply->siaddr;
        } else if (type == dhcp::MessageType::offer && reply->yiaddr != 0) {
            l.router_offer = true;
            l.address = reply->yiaddr;
            l.router_id = ip_of(reply->find(dhcp::Option::server_id));
        } else if (type == dhcp::MessageType::ack && reply->yiaddr == l.address) {
            l.acked = true;
        }
    }
    ::close(fd);
    return false;
}

// ---- TFTP -----------------------------------------------------------------------------------

struct Fetch {
    std::string data;
    unsigned blksize = 512;
    bool oack = false;
    std::string error;
};

// One RRQ. `probe`: stop after block 1 with ERROR 0 "Early terminate".
Fetch tftp_get(const Options& o, const std::string& server, const std::string& path, bool probe) {
    Fetch f;
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (!o.bind_address.empty()) {
        sockaddr_in me{};
        me.sin_family = AF_INET;
        ::inet_pton(AF_INET, o.bind_address.c_str(), &me.sin_addr);
        ::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me);
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(o.tftp_port);
    ::inet_pton(AF_INET, server.c_str(), &to.sin_addr);
    std::string rrq("\0\1", 2);
    for (const std::string& part :
         {path, std::string("octet"), std::string("tsize"), std::string("0"),
          std::string("blksize"), std::to_string(o.blksize)}) {
        rrq += part;
        rrq.push_back('\0');
    }
    sockaddr_in peer{};
    bool have_peer = false;
    std::string last_sent = rrq;
    sockaddr_in last_to = to;
    unsigned expected = 1;
    int silent = 0;
    std::uint64_t tsize = 0;
    ::sendto(fd, rrq.data(), rrq.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    while (true) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) {
            if (++silent > 4) {
                f.error = "timeout";
                break;
            }
            ::sendto(fd, last_sent.data(), last_sent.size(), 0,
                     reinterpret_cast<sockaddr*>(&last_to), sizeof last_to);
            continue;
        }
        unsigned char buf[70000];
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        const ssize_t n =
            ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 4) {
            continue;
        }
        if (have_peer && from.sin_port != peer.sin_port) {
            continue; // RFC 1350: packets from another TID are not ours
        }
        silent = 0;
        const unsigned op = buf[1];
        if (op == 5) {
            f.error = "error " + std::to_string(buf[3]) + " " +
                      std::string(reinterpret_cast<char*>(buf + 4),
                                  strnlen(reinterpret_cast<char*>(buf + 4),
                                          static_cast<std::size_t>(n) - 4));
            break;
        }
        peer = from;
        have_peer = true;
        if (op == 6) {
            // OACK: name\0value\0 pairs.
            f.oack = true;
            std::string key;
            std::size_t i = 2;
            bool is_key = true;
            std::string cur;
            for (; i < static_cast<std::size_t>(n); ++i) {
                if (buf[i] == 0) {
                    if (is_key) {
                        key = cur;
                    } else if (key == "blksize" || key == "tsize") {
                        // A malformed value is the server's fault: report it, never throw.
                        std::uint64_t v = 0;
                        const auto [end, ec] =
                            std::from_chars(cur.data(), cur.data() + cur.size(), v);
                        if (ec != std::errc{} || end != cur.data() + cur.size() || cur.empty() ||
                            (key == "blksize" && (v < 8 || v > 65464))) {
                            f.error = "bad OACK " + key + " '" + cur + "'";
                            break;
                        }
                        if (key == "blksize") {
                            f.blksize = static_cast<unsigned>(v);
                        } else {
                            tsize = v;
                        }
                    }
                    is_key = !is_key;
                    cur.clear();
                } else {
                    cur.push_back(static_cast<char>(buf[i]));
                }
            }
            if (!f.error.empty()) {
                break;
            }
            const char ack0[4] = {0, 4, 0, 0};
            last_sent.assign(ack0, 4);
            last_to = peer;
            ::sendto(fd, ack0, 4, 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
            continue;
        }
        if (op != 3) {
            continue;
        }
        const unsigned block = static_cast<unsigned>(buf[2] << 8 | buf[3]);
        if (block != (expected & 0xffff)) {
            continue; // duplicate: the bootloader ignores it
        }
        f.data.append(reinterpret_cast<char*>(buf + 4), static_cast<std::size_t>(n) - 4);
        if (probe) {
            const char err[] = "\0\5\0\0Early terminate";
            ::sendto(fd, err, sizeof err, 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
            break;
        }
        if (o.ack_delay_us > 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(o.ack_delay_us));
        }
        const char ack[4] = {0, 4, static_cast<char>(block >> 8), static_cast<char>(block & 0xff)};
        last_sent.assign(ack, 4);
        last_to = peer;
        ::sendto(fd, ack, 4, 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
        ++expected;
        if (static_cast<std::size_t>(n) - 4 < f.blksize) {
            if (f.oack && tsize != f.data.size()) {
                f.error =
                    "tsize " + std::to_string(tsize) + " but got " + std::to_string(f.data.size());
            }
            break;
        }
    }
    ::close(fd);
    return f;
}

struct Step {
    std::string request; // path after the prefix directory
    std::string file;    // file name in the image
    bool per_node;
    bool probe;
};

bool boot_node(const Options& o, const NodeSpec& node, const std::string& server,
               std::atomic<std::uint64_t>& bytes) {
    const std::vector<Step> steps{
        {"config.txt", "config.txt", true, true},
        {"config.txt", "config.txt", true, false},
        {"/config.txt", "config.txt", true, false}, // the Pi 5 asks for <dir>//config.txt too
        {o.dtb, o.dtb, false, false},
        {"cmdline.txt", "cmdline.txt", true, false},
        {"kernel_2712.img", "kernel_2712.img", false, false},
        {"initramfs_2712", "initramfs_2712", false, false},
    };
    std::string image_seen;
    bool ok = true;
    if (o.self_update) {
        // One try each: a missing pieeprom.sig is the normal case, not a failure.
        const Fetch sig = tftp_get(o, server, node.dir + "/pieeprom.sig", false);
        if (!sig.error.empty()) {
            say("node " + node.dir + " no eeprom update (" + sig.error + ")");
        } else {
            const Fetch upd = tftp_get(o, server, node.dir + "/pieeprom.upd", false);
            const std::string sha = uhs::util::sha256_hex(upd.data);
            if (!upd.error.empty() || sig.data.substr(0, 64) != sha) {
                say("node " + node.dir + " FAIL eeprom update: " +
                    (upd.error.empty() ? "sha256 " + sha + " is not the sig's" : upd.error));
                ok = false;
            } else {
                say("node " + node.dir + " EEPROM update sha256 " + sha + " bytes " +
                    std::to_string(upd.data.size()));
            }
        }
    }
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const Step& step = steps[s];
        const std::string path = node.dir + "/" + step.request;
        const auto t0 = Clock::now();
        Fetch f;
        for (int attempt = 0; attempt <= o.retries; ++attempt) {
            f = tftp_get(o, server, path, step.probe);
            if (f.error.empty()) {
                break;
            }
            say("node " + node.dir + " file " + path + " attempt " + std::to_string(attempt + 1) +
                " failed: " + f.error);
        }
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
        if (!f.error.empty()) {
            say("node " + node.dir + " FAIL " + path + ": " + f.error);
            return false;
        }
        if (step.request.find("config") != std::string::npos &&
            (!f.oack || f.blksize != o.blksize)) {
            say("node " + node.dir + " FAIL " + path + ": no OACK with blksize " +
                std::to_string(o.blksize));
            ok = false;
        }
        bytes += f.data.size();
        // Which image has exactly these bytes?
        std::string match;
        for (const std::string& image : o.expect) {
            const std::string ref = read_file(
                image + (step.per_node ? "/nodes/" + node.dir + "/" : "/boot/") + step.file);
            const bool same = step.probe
                                  ? (ref.compare(0, f.data.size(), f.data) == 0 && !ref.empty())
                                  : ref == f.data;
            if (same) {
                match = image.substr(image.find_last_of('/') + 1);
                break;
            }
        }
        if (!o.expect.empty() && match.empty()) {
            say("node " + node.dir + " FAIL " + path + ": " + std::to_string(f.data.size()) +
                " bytes match no expected image");
            ok = false;
        }
        if (!step.probe && !match.empty()) {
            if (image_seen.empty()) {
                image_seen = match;
            } else if (image_seen != match && o.consistent) {
                say("node " + node.dir + " FAIL MIXED " + path + " from " + match + " after " +
                    image_seen);
                ok = false;
            }
        }
        if (!o.quiet) {
            say("node " + node.dir + " file " + path + " bytes " + std::to_string(f.data.size()) +
                " ms " + std::to_string(ms) + (step.probe ? " probe" : "") + " image " +
                (match.empty() ? "-" : match));
        }
        if (static_cast<int>(s) == o.pause_after && o.pause_ms > 0) {
            say("node " + node.dir + " paused");
            std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
        }
    }
    say(std::string("node ") + node.dir + (ok ? " BOOTED image " : " FAILED image ") +
        (image_seen.empty() ? "-" : image_seen));
    return ok;
}

// Broadcasts `count` mutated and truncated DISCOVERs (fixed seed: reproducible) to port 67.
int fuzz_dhcp(const Options& o) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    if (!o.interface.empty()) {
        ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.interface.c_str(),
                     static_cast<socklen_t>(o.interface.size()));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(67);
    to.sin_addr.s_addr = INADDR_BROADCAST;
    std::uint32_t state = 12345;
    auto rnd = [&] {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    };
    const auto base =
        *dhcp::encode(dhcp::make_pi_discover(o.nodes[0].mac, 0x5a000000, "RPi5", o.nodes[0].serial,
                                             o.nodes[0].order, dhcp::BroadcastFlag::set));
    for (int i = 0; i < o.fuzz; ++i) {
        dhcp::Bytes d = base;
        const unsigned kind = rnd() % 4;
        if (kind == 0) {
            d.resize(rnd() % d.size()); // truncated
        } else if (kind == 1) {
            for (int k = 0; k < 8; ++k) {
                d[240 + rnd() % (d.size() - 240)] = static_cast<std::uint8_t>(rnd());
            }
        } else if (kind == 2) {
            d[240 + rnd() % 60] = static_cast<std::uint8_t>(rnd()); // option bytes, often lengths
            d.resize(240 + rnd() % 80);
        } else {
            for (auto& b : d) {
                b = static_cast<std::uint8_t>(rnd());
            }
        }
        ::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    ::close(fd);
    say("fuzz sent " + std::to_string(o.fuzz));
    return 0;
}

// Measures the proxy's sustained rate: keeps up to 32 DISCOVERs outstanding (the nodes' MACs
// in turn, fresh xids) for `flood_s` seconds and counts the OFFERs that come back.
int flood_dhcp(const Options& o) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    if (!o.interface.empty()) {
        ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.interface.c_str(),
                     static_cast<socklen_t>(o.interface.size()));
    }
    sockaddr_in me{};
    me.sin_family = AF_INET;
    me.sin_port = htons(68);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        std::perror("bind :68");
        return 1;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(67);
    to.sin_addr.s_addr = INADDR_BROADCAST;
    std::uint64_t sent = 0;
    std::uint64_t settled = 0; // answered, or given up on after 50 ms of silence
    std::uint32_t xid = 0x5b000000;
    const auto t0 = Clock::now();
    const auto end =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.flood_s));
    while (Clock::now() < end) {
        while (sent - settled < 32) {
            const NodeSpec& n = o.nodes[sent % o.nodes.size()];
            auto wire = dhcp::encode(dhcp::make_pi_discover(n.mac, xid++, n.model, n.serial,
                                                            n.order, dhcp::BroadcastFlag::set));
            ::sendto(fd, wire->data(), wire->size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to);
            ++sent;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
            settled = sent; // lost ones are not waited for; the rate counts only real offers
            continue;
        }
        std::uint8_t buf[2048];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            auto r = dhcp::decode(std::span(buf, static_cast<std::size_t>(n)));
            if (r && r->op == 2 && r->message_type() == dhcp::MessageType::offer) {
                ++settled;
                ++g_flood_offers;
            }
        }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    ::close(fd);
    say("flood sent " + std::to_string(sent) + " offers " + std::to_string(g_flood_offers) +
        " seconds " + std::to_string(secs) + " offers_per_s " +
        std::to_string(static_cast<double>(g_flood_offers) / secs));
    return g_flood_offers > 0 ? 0 : 1;
}

int usage() {
    std::cerr
        << "usage: pi-bootsim [--interface IF] [--no-dhcp --server IP] [--no-router]\n"
           "  [--tftp-port N] [--expect IMAGE_DIR]... [--consistent] [--dtb NAME]\n"
           "  [--timeout S] [--pause-after N --pause-ms MS] [--bind IP] [--quiet]\n"
           "  [--ack-delay-us US] [--retries N] [--fuzz COUNT] [--flood SECONDS] [--self-update]\n"
           "  --node MAC,SERIAL8,mac|serial[,RPi4|RPi5[,ascii|reversed]]...\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    std::vector<std::string> a(argv + 1, argv + argc);
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto next = [&]() -> std::string {
            if (i + 1 >= a.size()) {
                std::exit(usage());
            }
            return a[++i];
        };
        if (a[i] == "--interface") {
            o.interface = next();
        } else if (a[i] == "--no-dhcp") {
            o.dhcp = false;
        } else if (a[i] == "--no-router") {
            o.router = false;
        } else if (a[i] == "--server") {
            o.server = next();
        } else if (a[i] == "--tftp-port") {
            o.tftp_port = static_cast<std::uint16_t>(std::stoul(next()));
        } else if (a[i] == "--expect") {
            o.expect.push_back(next());
        } else if (a[i] == "--consistent") {
            o.consistent = true;
        } else if (a[i] == "--dtb") {
            o.dtb = next();
        } else if (a[i] == "--timeout") {
            o.timeout_s = std::stoi(next());
        } else if (a[i] == "--pause-after") {
            o.pause_after = std::stoi(next());
        } else if (a[i] == "--pause-ms") {
            o.pause_ms = std::stoi(next());
        } else if (a[i] == "--bind") {
            o.bind_address = next();
        } else if (a[i] == "--retries") {
            o.retries = std::stoi(next());
        } else if (a[i] == "--ack-delay-us") {
            o.ack_delay_us = std::stoi(next());
        } else if (a[i] == "--flood") {
            o.flood_s = std::stod(next());
        } else if (a[i] == "--fuzz") {
            o.fuzz = std::stoi(next());
        } else if (a[i] == "--quiet") {
            o.quiet = true;
        } else if (a[i] == "--self-update") {
            o.self_update = true;
        } else if (a[i] == "--node") {
            std::vector<std::string> f;
            std::stringstream ss(next());
            for (std::string part; std::getline(ss, part, ',');) {
                f.push_back(part);
            }
            if (f.size() < 3) {
                return usage();
            }
            NodeSpec n;
            auto mac = parse_mac(f[0]);
            if (!mac) {
                return usage();
            }
            n.mac = *mac;
            n.serial = static_cast<std::uint32_t>(std::stoul(f[1], nullptr, 16));
            if (f[2] == "mac") {
                char d[18];
                std::snprintf(d, sizeof d, "%02x-%02x-%02x-%02x-%02x-%02x", n.mac[0], n.mac[1],
                              n.mac[2], n.mac[3], n.mac[4], n.mac[5]);
                n.dir = d;
            } else {
                char d[9];
                std::snprintf(d, sizeof d, "%08x", n.serial);
                n.dir = d;
            }
            if (f.size() > 3) {
                n.model = f[3];
            }
            if (f.size() > 4) {
                n.order = f[4] == "ascii" ? dhcp::FourCcOrder::ascii : dhcp::FourCcOrder::reversed;
            }
            o.nodes.push_back(n);
        } else {
            return usage();
        }
    }
    if (o.nodes.empty() || (!o.dhcp && o.server.empty())) {
        return usage();
    }
    if (o.fuzz > 0) {
        return fuzz_dhcp(o);
    }
    if (o.flood_s > 0) {
        return flood_dhcp(o);
    }
    const auto t0 = Clock::now();
    std::vector<Lease> leases(o.nodes.size());
    std::vector<std::string> servers(o.nodes.size(), o.server);
    if (o.dhcp) {
        if (!run_dhcp(o, leases)) {
            for (std::size_t i = 0; i < o.nodes.size(); ++i) {
                say("node " + o.nodes[i].dir +
                    " FAIL dhcp: router_offer=" + std::to_string(leases[i].router_offer) +
                    " proxy_offer=" + std::to_string(leases[i].proxy_offer) +
                    " ack=" + std::to_string(leases[i].acked));
            }
            return 1;
        }
        for (std::size_t i = 0; i < o.nodes.size(); ++i) {
            servers[i] = dhcp::format_ipv4(leases[i].tftp);
            say("node " + o.nodes[i].dir + " dhcp address " +
                (o.router ? dhcp::format_ipv4(leases[i].address) : std::string("-")) + " tftp " +
                servers[i]);
        }
    }
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < o.nodes.size(); ++i) {
        threads.emplace_back([&, i] {
            if (!boot_node(o, o.nodes[i], servers[i], bytes)) {
                ++failures;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    say("summary nodes " + std::to_string(o.nodes.size()) + " failed " +
        std::to_string(failures.load()) + " bytes " + std::to_string(bytes.load()) + " seconds " +
        std::to_string(secs));
    return failures == 0 ? 0 : 1;
}
