// SPDX-License-Identifier: Apache-2.0
#include "netboot/serve.hpp"

#include "builder/config/board.hpp"
#include "builder/util/cli.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "netboot/eeprom/report.hpp"
#include "netboot/http_clients.hpp"
#include "netboot/logfmt.hpp"
#include "netboot/node_tree.hpp"
#include "netboot/privileges.hpp"
#include "netboot/sockets.hpp"
#include "netboot/status/status.hpp"
#include "netboot/tftp/helper_launcher.hpp"
#include "netboot/tftp/observer.hpp"
#include "netboot/tftp/supervisor.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace uhs::netboot {

namespace fs = std::filesystem;

namespace {

// Whether a process still runs (a zombie does not count). Works without privileges.
bool process_alive(pid_t pid) {
    auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) {
        return false;
    }
    const auto close = stat->rfind(')');
    return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

// Everything derived from the cluster file: reloaded together on SIGHUP.
struct Loaded {
    config::Cluster cluster;
    dhcp::ProxyConfig proxy;
    std::vector<status::NodeStatus> nodes;
    std::string tftp_address;
    std::optional<std::string> interface;
};

enum class Publish { no, yes };

// Loads the cluster file; with Publish::yes also publishes its nodes' trees.
util::Result<Loaded> load(const ServeOptions& options, const tftp::Tree& tree, std::ostream& log,
                          Publish publish) {
    auto cluster = config::load_cluster(
        options.cluster_file, {config::default_overlay_search_path(), config::CheckKeyrings::no});
    if (!cluster) {
        std::string all;
        for (const auto& d : cluster.error()) {
            all += (all.empty() ? "" : "; ") + d.to_string();
        }
        return util::fail(util::Errc::invalid_input, all);
    }
    Loaded l;
    l.cluster = std::move(*cluster);
    if (publish == Publish::yes) {
        UHS_CHECK(publish_cluster(l.cluster, tree, options.images_dir, options.image, log));
    }
    l.tftp_address = options.tftp_address.value_or(l.cluster.network.server.to_string());
    auto server = config::Ipv4::parse(l.tftp_address);
    if (!server) {
        return util::fail(util::Errc::invalid_input, "bad TFTP address '", l.tftp_address, "'");
    }
    l.interface =
        options.interface ? options.interface : std::optional<std::string>(l.cluster.network.interface);
    l.proxy.tftp_server = server->value;
    l.proxy.allow_unknown = options.allow_unknown;
    l.proxy.relays = options.relays;
    for (const config::Node& node : l.cluster.nodes) {
        dhcp::KnownNode k{node.name, std::nullopt, std::nullopt, dhcp::ClientKind::pi, ""};
        status::NodeStatus s;
        s.name = node.name;
        if (node.mac) {
            k.mac = node.mac->bytes;
        }
        if (node.serial) {
            k.serial = static_cast<std::uint32_t>(
                std::stoul(config::serial_prefix(*node.serial), nullptr, 16));
        }
        if (auto d = node.serial_directory()) {
            s.directories.push_back(*d);
        }
        if (auto d = node.mac_directory()) {
            s.directories.push_back(*d);
        }
        if (!s.directories.empty()) {
            s.image = tree.current_image(s.directories.front()).value_or("");
        }
        if (!config::board_for(node.model).raspberry_pi_firmware()) {
            k.kind = dhcp::ClientKind::uefi_arm64;
            k.serial.reset();
            if (auto d = node.mac_directory()) {
                k.boot_file = *d + "/" + k_uefi_arm64_boot_file;
            }
        }
        if (k.mac || k.serial) {
            l.proxy.nodes.push_back(k);
        }
        l.nodes.push_back(std::move(s));
    }
    return l;
}

void apply_pending_for(const std::string& node, const tftp::Tree& tree, status::Registry& registry,
                       Logger& log) {
    for (const status::NodeStatus& n : registry.nodes()) {
        if (n.name != node) {
            continue;
        }
        std::string image;
        for (const std::string& dir : n.directories) {
            auto applied = tree.apply_pending(dir);
            if (!applied) {
                log("error", "switch-failed", "node", node, "dir", dir, "message",
                    applied.error().message);
            } else if (*applied) {
                image = **applied;
                log("info", "switched", "node", node, "dir", dir, "image", image);
            }
        }
        if (!image.empty()) {
            registry.set_image(node, image);
        }
    }
}

} // namespace

int serve(const ServeOptions& given, std::ostream& out) {
    Logger log(out);
    // in.tftpd gets these paths, and it chroots: relative paths would not survive.
    ServeOptions options = given;
    options.state_dir = fs::absolute(options.state_dir);
    options.images_dir = fs::absolute(options.images_dir);
    const tftp::Tree tree(options.state_dir / "tftproot");
    const fs::path remap = options.state_dir / "tftpd.remap";
    auto lock = StateLock::try_acquire(options.state_dir);
    if (!lock || !*lock) {
        log("error", "state-lock", "message",
            lock ? "another uhs-netboot serve holds " + (options.state_dir / "serve.lock").string()
                 : lock.error().message);
        return util::k_exit_failure;
    }

    // 1. Configuration (read only: the tree is written after the privilege drop, so root never
    // writes, chmods or binds through paths the unprivileged user owns).
    auto loaded = load(options, tree, out, Publish::no);
    if (!loaded) {
        log("error", "load", "message", loaded.error().message);
        return util::k_exit_usage;
    }

    // 2. Signals arrive through a signalfd so the loop handles them like any other event.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGCHLD}) {
        sigaddset(&mask, s);
    }
    sigset_t old_mask;
    ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
    util::UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    // A status client that hangs up mid-answer must not kill the daemon.
    ::signal(SIGPIPE, SIG_IGN);

    // 3. Sockets: bound before anything answers.
    auto dhcp_fd = open_dhcp_socket(loaded->interface, options.dhcp_port);
    if (!dhcp_fd) {
        log("error", "dhcp-socket", "message", dhcp_fd.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_failure;
    }
    // The PXE boot server port, where UEFI clients ask again for their boot file.
    auto pxe_fd = open_dhcp_socket(loaded->interface, options.pxe_port);
    if (!pxe_fd) {
        log("error", "pxe-socket", "message", pxe_fd.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_failure;
    }
    auto http_fd = open_http_socket(options.http_address, options.http_port);
    if (!http_fd) {
        log("error", "http-socket", "message", http_fd.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_failure;
    }

    tftp::TransferTracker transfers;

    // 4. in.tftpd's command line, and who starts it. As root with --user, a helper forked now
    // (still root, limited to what in.tftpd needs) starts it, so in.tftpd begins as uid 0 and
    // its per-transfer drop to the tftp user clears every capability.
    tftp::TftpdOptions topt;
    topt.program = options.tftpd;
    topt.root = tree.root();
    topt.remap = remap;
    topt.address = loaded->tftp_address;
    topt.port = options.tftp_port;
    topt.user = options.tftpd_user;
    tftp::PosixProcessLauncher posix_launcher;
    std::unique_ptr<tftp::HelperLauncher> helper;
    if (options.user) {
        static constexpr int k_tftpd_caps[] = {CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_SETUID,
                                               CAP_SETGID};
        auto started = tftp::HelperLauncher::start(tftp::tftpd_argv(topt), k_tftpd_caps);
        if (!started) {
            log("error", "tftpd-helper", "message", started.error().message);
            ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
            return util::k_exit_failure;
        }
        helper = std::move(*started);
    }
    tftp::ProcessLauncher& launcher =
        helper ? static_cast<tftp::ProcessLauncher&>(*helper) : posix_launcher;

    // Everything that needs root is bound now: give it up, keeping a few capabilities.
    if (options.user) {
        if (auto st = drop_privileges(*options.user, options.state_dir); !st) {
            log("error", "drop-privileges", "message", st.error().message);
            ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
            return util::k_exit_failure;
        }
        log("info", "privileges-dropped", "user", *options.user, "uid", ::getuid());
    }

    // 5. The served tree, the remap file and in.tftpd's log socket, as the running user.
    loaded = load(options, tree, out, Publish::yes);
    if (!loaded) {
        log("error", "load", "message", loaded.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_usage;
    }
    if (auto st = util::write_file_atomic(remap, tftp::remap_rules(), 0644); !st) {
        log("error", "remap", "message", st.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_failure;
    }
    auto tftpd_log = open_tftpd_log_socket(tree.root());
    if (!tftpd_log) {
        log("error", "tftpd-log-socket", "message", tftpd_log.error().message);
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return util::k_exit_failure;
    }

    // 6. in.tftpd, supervised.
    tftp::Supervisor supervisor(launcher, tftp::tftpd_argv(topt));
    if (auto st = supervisor.start(tftp::Clock::now()); !st) {
        log("error", "tftpd-start", "message", st.error().message);
    } else {
        log("info", "tftpd-started", "pid", supervisor.pid(), "address",
            topt.address + ":" + std::to_string(topt.port));
    }

    status::Registry registry;
    registry.set_nodes(loaded->nodes);
    eeprom::ReportEndpoint reports(options.state_dir); // POST /bootloader-report
    reports.set_nodes(loaded->cluster);
    log("info", "serving", "nodes", loaded->nodes.size(), "tftp", loaded->tftp_address, "interface",
        loaded->interface.value_or(""), "http",
        options.http_address + ":" + std::to_string(options.http_port));

    // Who may write transfer lines to in.tftpd's log socket: in.tftpd itself (root until it
    // drops), the user it drops to, and this daemon's own user (in.tftpd runs as it when the
    // daemon is not root). Any other local user's datagram is dropped and counted.
    std::vector<uid_t> log_senders = {0, ::geteuid()};
    if (const passwd* pw = ::getpwnam(options.tftpd_user.c_str())) {
        log_senders.push_back(pw->pw_uid);
    }
    std::uint64_t forged_log_lines = 0;
    bool healthy = false;
    auto next_probe = tftp::Clock::now();
    unsigned restarts_seen = 0;
    bool running = true;
    std::uint64_t malformed_seen = 0;
    std::uint64_t not_pi_seen = 0;
    std::uint64_t loop_errors = 0;
    std::vector<HttpClient> http_clients;
    std::future<util::Result<Loaded>> reloading; // valid while a reload runs
    std::shared_ptr<std::ostringstream> reload_out;
    bool reload_again = false;
    auto start_reload = [&] {
        reload_out = std::make_shared<std::ostringstream>();
        reloading = std::async(std::launch::async, [&options, &tree, sink = reload_out] {
            return load(options, tree, *sink, Publish::yes);
        });
        log("info", "reload-started");
    };
    // Lines a remote peer causes one per packet: 100 at once, then 20 a second.
    LogRateLimit packet_log(20, 100);
    while (running) {
        // A daemon never throws across its loop: one bad event is logged and counted, and the
        // next iteration goes on (in.tftpd keeps running; the Supervisor stops it on exit).
        try {
            const auto now = tftp::Clock::now();
            supervisor.tick(now);
            if (supervisor.restarts() != restarts_seen) {
                restarts_seen = supervisor.restarts();
                log("warn", "tftpd-exited", "status", supervisor.last_status().value_or(-1),
                    "restart_in_ms", supervisor.current_backoff().count() / 2);
                registry.update_counters(
                    [&](status::Counters& c) { c.tftpd_restarts = restarts_seen; });
                healthy = false;
            }
            if (!supervisor.running()) {
                healthy = false;
            } else if (now >= next_probe) {
                const auto probe =
                    tftp::probe_tftp(topt.address, topt.port, tftp::Tree::k_health_file,
                                     std::chrono::milliseconds(300));
                if (bool ok = probe.has_value(); ok != healthy) {
                    healthy = ok;
                    log(ok ? "info" : "warn", ok ? "tftp-healthy" : "tftp-unhealthy", "message",
                        ok ? std::string("probe ok") : probe.error().message);
                }
                if (const auto dropped = packet_log.take_suppressed(); dropped > 0) {
                    log("warn", "log-suppressed", "lines", dropped);
                }
                // Probe often until healthy, then once a second.
                next_probe = now + std::chrono::milliseconds(healthy ? 1000 : 100);
            }
            registry.update_counters([&](status::Counters& c) { c.tftp_healthy = healthy; });

            for (const auto& [t, took] : transfers.finished(now, process_alive)) {
                if (t.path == tftp::Tree::k_health_file) {
                    continue; // our own probe
                }
                const std::string dir = eeprom::tftp_directory_of(t.path);
                // As in.tftpd's chroot resolves it: a refused "../../etc/shadow" has no size
                // here, rather than that of the host's file.
                const std::optional<std::uintmax_t> served =
                    t.not_found ? std::nullopt : tree.served_size(t.path);
                const std::uintmax_t size = served.value_or(0);
                if (served && eeprom::is_staged_update(t.path)) {
                    // Whether it was complete: in.tftpd does not say; the size is as staged.
                    if (auto st = reports.ledger().record_fetch(dir, t.started_unix_ms, size);
                        !st) {
                        log("error", "eeprom-fetch-record", "message", st.error().message);
                    }
                    log("info", "eeprom-update-fetched", "dir", dir, "client", t.client);
                }
                registry.record_file(dir, status::FileServed{t.started_unix_ms, t.path, size,
                                                             took.count(), served.has_value()});
                if (packet_log.allow(now)) {
                    log("info", "tftp-done", "client", t.client, "path", t.path, "bytes", size,
                        "ms", took.count(), "found", t.not_found ? "no" : "yes");
                }
            }

            std::vector<pollfd> fds = {{sigfd.get(), POLLIN, 0},
                                       {dhcp_fd->get(), POLLIN, 0},
                                       {http_fd->get(), POLLIN, 0},
                                       {tftpd_log->get(), POLLIN, 0},
                                       {pxe_fd->get(), POLLIN, 0}};
            const std::size_t k_fixed_fds = fds.size();
            for (const HttpClient& c : http_clients) {
                fds.push_back({c.fd.get(), static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
            }
            // Transfers in flight are timed by polling their process: look often then.
            const int ready = ::poll(fds.data(), fds.size(),
                                     transfers.active() ? 10
                                     : healthy          ? 200
                                                        : 50);
            if (ready < 0 && errno != EINTR) {
                log("error", "poll", "message", util::errno_text(errno));
                break;
            }
            if (fds[0].revents & POLLIN) {
                signalfd_siginfo si{};
                while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                        running = false;
                    } else if (si.ssi_signo == SIGHUP) {
                        // Reloading may import images (copies of many MB): a worker does it
                        // while the loop keeps answering; a SIGHUP meanwhile reloads again.
                        if (reloading.valid()) {
                            reload_again = true;
                        } else {
                            start_reload();
                        }
                    }
                }
            }
            if (reloading.valid() &&
                reloading.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
                auto again = reloading.get();
                out << reload_out->str(); // what publishing said, in one piece
                if (!again) {
                    log("error", "reload-failed", "message", again.error().message);
                } else {
                    // in.tftpd and the DHCP socket are bound to the old address and
                    // interface: keep both until a restart rather than answer with
                    // a TFTP server nobody listens on.
                    if (again->tftp_address != loaded->tftp_address ||
                        again->interface != loaded->interface) {
                        log("warn", "reload-kept-network", "message",
                            "TFTP address and DHCP interface changes take effect at "
                            "restart",
                            "tftp", loaded->tftp_address, "interface",
                            loaded->interface.value_or(""));
                        again->tftp_address = loaded->tftp_address;
                        again->proxy.tftp_server = loaded->proxy.tftp_server;
                        again->interface = loaded->interface;
                    }
                    loaded = std::move(again);
                    registry.set_nodes(loaded->nodes);
                    reports.set_nodes(loaded->cluster);
                    registry.update_counters([](status::Counters& c) { ++c.reloads; });
                    log("info", "reloaded", "nodes", loaded->nodes.size());
                }
                if (reload_again) {
                    reload_again = false;
                    start_reload();
                }
            }
            // Port 67 (DISCOVERs) and the PXE boot server port 4011 (UEFI clients' REQUESTs).
            for (const bool boot_server : {false, true}) {
                const int sock = boot_server ? pxe_fd->get() : dhcp_fd->get();
                if (!(fds[boot_server ? 4 : 1].revents & POLLIN)) {
                    continue;
                }
                for (int i = 0; i < 64; ++i) {
                    std::uint8_t buf[4096];
                    sockaddr_in from{};
                    socklen_t from_len = sizeof from;
                    const ssize_t n = ::recvfrom(sock, buf, sizeof buf, 0,
                                                 reinterpret_cast<sockaddr*>(&from), &from_len);
                    if (n < 0) {
                        break;
                    }
                    auto packet = dhcp::decode(std::span(buf, static_cast<std::size_t>(n)));
                    if (!packet) {
                        registry.update_counters([](status::Counters& c) {
                            ++c.dhcp_received;
                            ++c.dhcp_malformed;
                        });
                        // Rate-limited: a broken or hostile sender must not flood the journal.
                        if (++malformed_seen <= 20 || malformed_seen % 1000 == 0) {
                            log("debug", "dhcp-malformed", "bytes", n, "count", malformed_seen,
                                "message", packet.error().message);
                        }
                        continue;
                    }
                    const auto health =
                        healthy ? dhcp::TftpHealth::healthy : dhcp::TftpHealth::unhealthy;
                    dhcp::Decision d =
                        boot_server ? dhcp::decide_boot_server(loaded->proxy, *packet, health)
                                    : dhcp::decide(loaded->proxy, *packet, health);
                    if (boot_server) {
                        // The answer goes back where the request came from.
                        d.destination = ntohl(from.sin_addr.s_addr);
                        d.destination_port = ntohs(from.sin_port);
                    }
                    if (d.verdict == dhcp::Verdict::not_discover) {
                        registry.update_counters([](status::Counters& c) { ++c.dhcp_received; });
                        continue; // REQUESTs, other servers' replies: not ours to log
                    }
                    status::DhcpExchange ex{Logger::now_unix_ms(), d.client_mac, packet->xid,
                                            std::string(dhcp::to_string(d.verdict))};
                    bool sent = false;
                    if (d.reply && !d.node.empty() && !boot_server) {
                        // A DISCOVER starts a boot: the moment a pending switch can take effect
                        // without the node ever seeing files of two images.
                        apply_pending_for(d.node, tree, registry, log);
                    }
                    if (d.reply) {
                        auto wire = dhcp::encode(*d.reply);
                        sockaddr_in to{};
                        to.sin_family = AF_INET;
                        to.sin_port = htons(d.destination_port);
                        to.sin_addr.s_addr = htonl(d.destination);
                        sent = wire && ::sendto(sock, wire->data(), wire->size(), 0,
                                                reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0;
                        if (!sent) {
                            log("error", "dhcp-send", "message",
                                wire ? util::errno_text(errno) : wire.error().message);
                        }
                    }
                    if (!boot_server) {
                        registry.record_dhcp(d.node, ex, sent);
                    }
                    if (d.verdict == dhcp::Verdict::not_pi && ++not_pi_seen > 20 &&
                        not_pi_seen % 1000 != 0) {
                        continue; // other PXE/DHCP clients on the LAN: logged sparingly
                    }
                    if (!packet_log.allow(tftp::Clock::now())) {
                        continue; // a flood of DISCOVERs must not flood the journal
                    }
                    log(sent ? "info" : "debug",
                        boot_server ? (sent ? "pxe-ack" : "pxe-ignored")
                                    : (sent ? "dhcp-offer" : "dhcp-ignored"),
                        "node", d.node.empty() ? std::string("-") : d.node, "mac", d.client_mac,
                        "xid", packet->xid, "verdict", std::string(dhcp::to_string(d.verdict)),
                        "model",
                        d.pi     ? d.pi->model
                        : d.uefi ? std::string("uefi-arm64")
                                 : std::string("-"),
                        "file", d.reply ? d.reply->file : std::string());
                }
            }
            {
                // Status clients: step each one that is ready, drop the finished and the late.
                const auto at = tftp::Clock::now();
                std::vector<HttpClient> still;
                for (std::size_t i = 0; i < http_clients.size(); ++i) {
                    HttpClient& c = http_clients[i];
                    const short revents = fds[k_fixed_fds + i].revents;
                    const bool keep =
                        (revents == 0 || step_http_client(c, revents, registry, reports)) &&
                        at < c.deadline;
                    if (keep) {
                        still.push_back(std::move(c));
                    }
                }
                http_clients = std::move(still);
                if (fds[2].revents & POLLIN) {
                    accept_http_clients(http_fd->get(), http_clients, at);
                }
            }
            if (fds[3].revents & POLLIN) {
                for (int i = 0; i < 256; ++i) {
                    const auto datagram = receive_log_datagram(tftpd_log->get());
                    if (!datagram || !*datagram) {
                        break;
                    }
                    if (std::find(log_senders.begin(), log_senders.end(), (*datagram)->uid) ==
                        log_senders.end()) {
                        if (++forged_log_lines <= 20 || forged_log_lines % 1000 == 0) {
                            log("warn", "tftpd-log-refused", "uid", (*datagram)->uid, "pid",
                                (*datagram)->pid, "count", forged_log_lines);
                        }
                        continue;
                    }
                    const auto line = tftp::parse_tftpd_log((*datagram)->text);
                    if (!line) {
                        continue;
                    }
                    transfers.on_log(*line, Logger::now_unix_ms(), tftp::Clock::now());
                    if (line->kind == tftp::TftpdLogLine::Kind::other &&
                        packet_log.allow(tftp::Clock::now())) {
                        log("info", "tftpd", "pid", line->pid, "message", line->message);
                    }
                    // A refused request (no such file, a path outside the tree, a bad mode)
                    // says who asked: a node missing a file, or someone probing the server.
                    if (line->kind == tftp::TftpdLogLine::Kind::nak &&
                        packet_log.allow(tftp::Clock::now())) {
                        log("warn", "tftp-nak", "pid", line->pid, "client", line->client, "message",
                            line->message);
                    }
                }
            }
        } catch (const std::exception& e) {
            if (++loop_errors <= 20 || loop_errors % 1000 == 0) {
                log("error", "loop-error", "count", loop_errors, "message", e.what());
            }
        }
    }
    log("info", "stopping");
    if (reloading.valid()) {
        reloading.wait(); // a reload in progress finishes its import (no half-made image)
    }
    supervisor.stop();
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    log("info", "stopped");
    return util::k_exit_ok;
}

} // namespace uhs::netboot
