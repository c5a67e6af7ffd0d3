// SPDX-License-Identifier: Apache-2.0
#include "netboot/status/status.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace uhs::netboot::status {

namespace {

constexpr std::size_t k_max_files = 64;

std::string file_name(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string escape_label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out.push_back('\\');
        }
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

} // namespace

std::string_view to_string(Phase phase) {
    switch (phase) {
    case Phase::none:
        return "none";
    case Phase::dhcp:
        return "dhcp";
    case Phase::config:
        return "config";
    case Phase::kernel:
        return "kernel";
    case Phase::initramfs:
        return "initramfs";
    case Phase::done:
        return "done";
    }
    return "?";
}

Phase next_phase(Phase current, std::string_view path, bool complete) {
    const std::string name = file_name(path);
    if (!complete) {
        return current; // probes and aborted transfers say nothing new
    }
    if (name == "config.txt" || name.ends_with(".dtb") || name.ends_with(".dtbo") ||
        name == "cmdline.txt") {
        return std::max(current, Phase::config);
    }
    if (name.starts_with("kernel")) {
        return std::max(current, Phase::kernel);
    }
    if (name.starts_with("initramfs")) {
        return Phase::done;
    }
    return current;
}

void Registry::set_nodes(const std::vector<NodeStatus>& nodes) {
    std::lock_guard lock(m_mutex);
    std::vector<NodeStatus> merged;
    for (NodeStatus n : nodes) {
        for (const NodeStatus& old : m_nodes) {
            if (old.name == n.name) {
                n.last_dhcp = old.last_dhcp;
                n.offers = old.offers;
                n.files = old.files;
                n.phase = old.phase;
            }
        }
        merged.push_back(std::move(n));
    }
    m_nodes = std::move(merged);
}

void Registry::set_image(const std::string& node, const std::string& image) {
    std::lock_guard lock(m_mutex);
    for (NodeStatus& n : m_nodes) {
        if (n.name == node) {
            n.image = image;
        }
    }
}

void Registry::record_dhcp(const std::string& node, const DhcpExchange& exchange, bool offered) {
    std::lock_guard lock(m_mutex);
    ++m_counters.dhcp_received;
    if (offered) {
        ++m_counters.dhcp_offers;
    } else {
        ++m_counters.dhcp_ignored;
    }
    for (NodeStatus& n : m_nodes) {
        if (n.name == node) {
            n.last_dhcp = exchange;
            if (offered) {
                ++n.offers;
                // A new DISCOVER starts a new boot: forget the previous one's files.
                n.files.clear();
                n.phase = Phase::dhcp;
            }
        }
    }
}

void Registry::record_file(const std::string& dir, const FileServed& file) {
    std::lock_guard lock(m_mutex);
    ++m_counters.tftp_files;
    m_counters.tftp_bytes += file.bytes;
    for (NodeStatus& n : m_nodes) {
        if (std::find(n.directories.begin(), n.directories.end(), dir) != n.directories.end()) {
            n.files.push_back(file);
            if (n.files.size() > k_max_files) {
                n.files.erase(n.files.begin());
            }
            n.phase = next_phase(n.phase, file.path, file.complete);
        }
    }
}

Counters Registry::counters() const {
    std::lock_guard lock(m_mutex);
    return m_counters;
}

std::vector<NodeStatus> Registry::nodes() const {
    std::lock_guard lock(m_mutex);
    return m_nodes;
}

std::string Registry::render_json() const {
    const auto nodes_copy = nodes();
    const Counters c = counters();
    nlohmann::ordered_json out;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const NodeStatus& n : nodes_copy) {
        nlohmann::ordered_json j;
        j["name"] = n.name;
        j["directories"] = n.directories;
        j["image"] = n.image;
        j["phase"] = std::string(to_string(n.phase));
        j["offers"] = n.offers;
        if (n.last_dhcp) {
            j["last_dhcp"] = {{"unix_ms", n.last_dhcp->unix_ms},
                              {"client_mac", n.last_dhcp->client_mac},
                              {"xid", n.last_dhcp->xid},
                              {"verdict", n.last_dhcp->verdict}};
        } else {
            j["last_dhcp"] = nullptr;
        }
        nlohmann::ordered_json files = nlohmann::ordered_json::array();
        for (const FileServed& f : n.files) {
            files.push_back({{"path", f.path},
                             {"unix_ms", f.unix_ms},
                             {"bytes", f.bytes},
                             {"duration_ms", f.duration_ms},
                             {"complete", f.complete}});
        }
        j["files"] = std::move(files);
        list.push_back(std::move(j));
    }
    out["nodes"] = std::move(list);
    out["counters"] = {{"dhcp_received", c.dhcp_received},
                       {"dhcp_malformed", c.dhcp_malformed},
                       {"dhcp_offers", c.dhcp_offers},
                       {"dhcp_ignored", c.dhcp_ignored},
                       {"tftp_files", c.tftp_files},
                       {"tftp_bytes", c.tftp_bytes},
                       {"tftpd_restarts", c.tftpd_restarts},
                       {"tftp_healthy", c.tftp_healthy},
                       {"reloads", c.reloads}};
    // File names come from TFTP clients and need not be UTF-8: replace what is not, never throw.
    return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string Registry::render_prometheus() const {
    const auto nodes_copy = nodes();
    const Counters c = counters();
    std::string o;
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                      std::uint64_t value) {
        o += "# HELP ";
        o += name;
        o += ' ';
        o += help;
        o += "\n# TYPE ";
        o += name;
        o += ' ';
        o += type;
        o += '\n';
        o += name;
        o += ' ';
        o += std::to_string(value);
        o += '\n';
    };
    metric("uhs_netboot_dhcp_received_total", "counter", "DHCP datagrams received.",
           c.dhcp_received);
    metric("uhs_netboot_dhcp_malformed_total", "counter", "DHCP datagrams dropped as malformed.",
           c.dhcp_malformed);
    metric("uhs_netboot_dhcp_offers_total", "counter", "proxy OFFERs sent.", c.dhcp_offers);
    metric("uhs_netboot_dhcp_ignored_total", "counter", "DHCP requests not answered.",
           c.dhcp_ignored);
    metric("uhs_netboot_tftp_files_total", "counter", "TFTP transfers observed.", c.tftp_files);
    metric("uhs_netboot_tftp_bytes_total", "counter", "TFTP bytes observed.", c.tftp_bytes);
    metric("uhs_netboot_tftpd_restarts_total", "counter", "in.tftpd restarts.", c.tftpd_restarts);
    metric("uhs_netboot_tftp_healthy", "gauge", "1 when the last TFTP probe succeeded.",
           c.tftp_healthy ? 1 : 0);
    metric("uhs_netboot_reloads_total", "counter", "configuration reloads (SIGHUP).", c.reloads);
    o += "# HELP uhs_netboot_node_phase Boot phase per node (1 for the current phase).\n";
    o += "# TYPE uhs_netboot_node_phase gauge\n";
    for (const NodeStatus& n : nodes_copy) {
        o += "uhs_netboot_node_phase{node=\"" + escape_label(n.name) + "\",phase=\"" +
             std::string(to_string(n.phase)) + "\"} 1\n";
    }
    o += "# HELP uhs_netboot_node_offers_total proxy OFFERs sent per node.\n";
    o += "# TYPE uhs_netboot_node_offers_total counter\n";
    for (const NodeStatus& n : nodes_copy) {
        o += "uhs_netboot_node_offers_total{node=\"" + escape_label(n.name) + "\"} " +
             std::to_string(n.offers) + "\n";
    }
    return o;
}

std::string http_response(std::string_view request, const Registry& registry) {
    auto respond = [](int code, std::string_view reason, std::string_view type,
                      const std::string& body, bool head) {
        std::string r = "HTTP/1.0 " + std::to_string(code) + " " + std::string(reason) +
                        "\r\nContent-Type: " + std::string(type) +
                        "\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n\r\n";
        if (!head) {
            r += body;
        }
        return r;
    };
    const auto line_end = request.find("\r\n");
    const std::string_view line = request.substr(0, line_end);
    const auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) {
        return respond(400, "Bad Request", "text/plain", "bad request\n", false);
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1);
    target = target.substr(0, target.find(' '));
    target = target.substr(0, target.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
        return respond(405, "Method Not Allowed", "text/plain", "GET only\n", false);
    }
    if (target == "/status") {
        return respond(200, "OK", "application/json", registry.render_json(), head);
    }
    if (target == "/metrics") {
        return respond(200, "OK", "text/plain; version=0.0.4", registry.render_prometheus(), head);
    }
    return respond(404, "Not Found", "text/plain", "not found\n", head);
}

} // namespace uhs::netboot::status
