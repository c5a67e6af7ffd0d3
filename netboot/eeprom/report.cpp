// SPDX-License-Identifier: Apache-2.0
#include "netboot/eeprom/report.hpp"

#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"
#include "firmware/eeprom/image.hpp"

#include <algorithm>
#include <charconv>

namespace uhs::netboot::eeprom {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

template <class T> std::optional<T> parse_decimal(std::string_view text) {
    T value{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

bool printable_text(std::string_view text) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n' && c != '\t' && c != '\r') || u == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string response(std::string_view status, std::string_view body) {
    return "HTTP/1.0 " + std::string(status) +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + std::string(body);
}

// The value of header `name` (case-insensitive) in `head`, if present.
std::optional<std::string> header(std::string_view head, std::string_view name) {
    for (std::string_view line : util::split(head, '\n')) {
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        if (util::to_lower(util::trim(line.substr(0, colon))) == util::to_lower(name)) {
            return std::string(util::trim(line.substr(colon + 1)));
        }
    }
    return std::nullopt;
}

} // namespace

util::Result<BootloaderReport> parse_report(std::string_view body) {
    if (body.size() > k_max_report_body) {
        return fail(Errc::invalid_input, "report too large: ", std::to_string(body.size()),
                    " bytes (at most ", std::to_string(k_max_report_body), ")");
    }
    if (!printable_text(body)) {
        return fail(Errc::invalid_input, "report holds control bytes");
    }
    BootloaderReport report;
    bool have_build = false;
    std::size_t at = 0;
    int number = 0;
    while (at < body.size()) {
        const auto end = body.find('\n', at);
        std::string_view line =
            body.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? body.size() : end + 1;
        ++number;
        line = util::trim(line);
        if (line.empty()) {
            report.config = std::string(body.substr(at)); // the rest is the config, as read
            break;
        }
        const auto colon = line.find(':');
        const std::string where = "line " + std::to_string(number) + ": ";
        if (colon == std::string_view::npos) {
            return fail(Errc::invalid_input, where, "expected 'key: value'");
        }
        const std::string_view key = util::trim(line.substr(0, colon));
        const std::string_view value = util::trim(line.substr(colon + 1));
        if (key == "build-timestamp" || key == "update-timestamp") {
            auto ts = parse_decimal<std::uint32_t>(value);
            if (!ts) {
                return fail(Errc::invalid_input, where, std::string(key),
                            ": expected a Unix time, got '", std::string(value), "'");
            }
            if (key == "build-timestamp") {
                report.build_timestamp = *ts;
                have_build = true;
            } else {
                report.update_timestamp = *ts;
            }
        } else if (key == "version") {
            if (value.size() > 40 || !util::is_hex(value)) {
                return fail(Errc::invalid_input, where, "version: expected a hex git hash");
            }
            report.version = util::to_lower(value);
        } else if (key == "received") {
            auto t = parse_decimal<std::int64_t>(value);
            if (!t) {
                return fail(Errc::invalid_input, where, "received: expected a Unix time");
            }
            report.received_unix = *t;
        }
        // Other keys are skipped: a newer script may send more.
    }
    if (!have_build || report.build_timestamp == 0) {
        return fail(Errc::invalid_input, "no build-timestamp: line (the node has no "
                                         "/proc/device-tree/chosen/bootloader/build-timestamp?)");
    }
    if (report.config && report.config->size() > ::uhs::eeprom::k_max_file_size) {
        return fail(Errc::invalid_input,
                    "config too large: ", std::to_string(report.config->size()), " bytes");
    }
    return report;
}

std::string render_report(const BootloaderReport& r) {
    std::string text = "build-timestamp: " + std::to_string(r.build_timestamp) + "\n";
    if (r.update_timestamp) {
        text += "update-timestamp: " + std::to_string(*r.update_timestamp) + "\n";
    }
    if (!r.version.empty()) {
        text += "version: " + r.version + "\n";
    }
    text += "received: " + std::to_string(r.received_unix) + "\n";
    if (r.config) {
        text += "\n" + *r.config;
    }
    return text;
}

util::Status Ledger::write_report(const std::string& node, const BootloaderReport& report) const {
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) {
        return fail(Errc::io, "cannot create ", m_dir.string(), ": ", ec.message());
    }
    return util::write_file_atomic(m_dir / (node + ".report"), render_report(report));
}

std::optional<BootloaderReport> Ledger::read_report(const std::string& node) const {
    auto text = util::read_file(m_dir / (node + ".report"));
    if (!text) {
        return std::nullopt;
    }
    auto report = parse_report(*text);
    return report ? std::optional(*report) : std::nullopt;
}

util::Status Ledger::record_fetch(const std::string& dir, std::int64_t unix_ms,
                                  std::uint64_t bytes) const {
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) {
        return fail(Errc::io, "cannot create ", m_dir.string(), ": ", ec.message());
    }
    return util::write_file_atomic(m_dir / (dir + ".fetched"),
                                   std::to_string(unix_ms) + " " + std::to_string(bytes) + "\n");
}

std::optional<std::int64_t> Ledger::last_fetch(const std::string& dir) const {
    auto text = util::read_file(m_dir / (dir + ".fetched"));
    if (!text) {
        return std::nullopt;
    }
    const std::string_view t = *text;
    return parse_decimal<std::int64_t>(t.substr(0, t.find(' ')));
}

void ReportEndpoint::set_nodes(const config::Cluster& cluster) {
    m_nodes.clear();
    for (const config::Node& node : cluster.nodes) {
        m_nodes[node.ip.value] = node.name;
    }
}

bool ReportEndpoint::complete(std::string_view request) {
    const auto end = request.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        return false;
    }
    const auto length = header(request.substr(0, end), "Content-Length");
    if (!length) {
        return true;
    }
    const auto n = parse_decimal<std::size_t>(*length);
    // A bad or oversized length is answered at once (answer() refuses it).
    return !n || *n > k_max_report_body || request.size() - (end + 4) >= *n;
}

std::optional<std::string> ReportEndpoint::answer(std::string_view request, std::uint32_t peer,
                                                  std::int64_t now_unix) const {
    const auto line_end = request.find("\r\n");
    const std::string_view first = request.substr(0, line_end);
    const auto parts = util::split(first, ' ');
    if (parts.size() < 2 || parts[1] != "/bootloader-report") {
        return std::nullopt;
    }
    if (parts[0] != "POST") {
        return response("405 Method Not Allowed", "POST a report here\n");
    }
    const auto node = m_nodes.find(peer);
    if (node == m_nodes.end()) {
        return response("403 Forbidden", "this address is no node's in the cluster file\n");
    }
    const auto end = request.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        return response("400 Bad Request", "incomplete request\n");
    }
    const auto length_text = header(request.substr(0, end), "Content-Length");
    if (!length_text) {
        return response("411 Length Required", "Content-Length required\n");
    }
    const auto length = parse_decimal<std::size_t>(*length_text);
    if (!length || *length > k_max_report_body) {
        return response("413 Payload Too Large",
                        "at most " + std::to_string(k_max_report_body) + " bytes\n");
    }
    const std::string_view body = request.substr(end + 4);
    if (body.size() < *length) {
        return response("400 Bad Request", "body shorter than Content-Length\n");
    }
    auto report = parse_report(body.substr(0, *length));
    if (!report) {
        return response("400 Bad Request", report.error().message + "\n");
    }
    report->received_unix = now_unix;
    if (auto st = m_ledger.write_report(node->second, *report); !st) {
        return response("500 Internal Server Error", st.error().message + "\n");
    }
    return response("204 No Content", "");
}

std::string tftp_directory_of(std::string_view path) {
    constexpr std::string_view k_staged = ".eeprom/";
    if (path.starts_with(k_staged)) {
        path.remove_prefix(k_staged.size());
    }
    const auto slash = path.find('/');
    return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

bool is_staged_update(std::string_view path) {
    return path.starts_with(".eeprom/") && path.ends_with("/pieeprom.upd") &&
           std::count(path.begin(), path.end(), '/') == 2;
}

} // namespace uhs::netboot::eeprom
