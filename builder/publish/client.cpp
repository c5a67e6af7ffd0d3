// SPDX-License-Identifier: Apache-2.0
// Endpoints, the pure request building and reply reading of both API generations, and
// connect(), which chooses between them (jsonrpc_api.cpp, rest_api.cpp).
#include "builder/publish/client.hpp"

#include "builder/publish/transport.hpp"

#include <utility>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::Error;
using util::fail;

std::string_view to_string(Generation generation) {
    return generation == Generation::jsonrpc ? "JSON-RPC 2.0 over WebSocket" : "REST v2.0";
}

std::string Endpoint::host_header() const {
    return port == 443 ? host : host + ":" + std::to_string(port);
}

std::string Endpoint::base_url() const {
    return "https://" + host_header();
}

util::Result<Endpoint> parse_endpoint(const std::string& text) {
    std::string rest = text;
    if (rest.starts_with("http://") || rest.starts_with("ws://")) {
        return fail(Errc::invalid_input, "refusing '", text,
                    "': the API key would travel in clear, and TrueNAS revokes keys that do; "
                    "use https://");
    }
    for (std::string_view scheme : {"https://", "wss://"}) {
        if (rest.starts_with(scheme)) {
            rest.erase(0, scheme.size());
        }
    }
    if (rest.find("://") != std::string::npos) {
        return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': only https:// is allowed");
    }
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    if (rest.empty() || rest.find('/') != std::string::npos) {
        return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': expected HOST[:PORT]");
    }
    Endpoint endpoint;
    endpoint.host = rest;
    if (const std::size_t colon = rest.rfind(':'); colon != std::string::npos) {
        const std::string port = rest.substr(colon + 1);
        char* end = nullptr;
        const long value = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || value < 1 || value > 65535) {
            return fail(Errc::invalid_input, "TrueNAS endpoint '", text, "': bad port '", port,
                        "'");
        }
        endpoint.host = rest.substr(0, colon);
        endpoint.port = static_cast<int>(value);
    }
    return endpoint;
}

// --- request building ---

std::string jsonrpc_request(std::uint64_t id, const std::string& method, const json& params) {
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
}

util::Result<json> jsonrpc_result(const json& reply, const std::string& method) {
    if (!reply.is_object()) {
        return fail(Errc::integrity, "TrueNAS answered ", method, " with a non-object");
    }
    if (auto result = reply.find("result"); result != reply.end()) {
        return *result;
    }
    auto error = reply.find("error");
    if (error == reply.end() || !error->is_object()) {
        return fail(Errc::integrity, "TrueNAS answered ", method, " with neither result nor error");
    }
    const std::string message = error->value("message", std::string("error"));
    std::string errname;
    std::string reason;
    if (auto data = error->find("data"); data != error->end() && data->is_object()) {
        errname = data->value("errname", std::string());
        reason = data->value("reason", std::string());
        if (auto extra = data->find("extra"); extra != data->end() && extra->is_array()) {
            // Validation errors: [[attribute, message, errno], ...]
            for (const json& item : *extra) {
                if (item.is_array() && item.size() >= 2 && item[0].is_string() &&
                    item[1].is_string()) {
                    reason += (reason.empty() ? "" : "; ") + item[0].get<std::string>() + ": " +
                              item[1].get<std::string>();
                }
            }
        }
    }
    Errc code = Errc::failed;
    if (errname == "ENOENT") {
        code = Errc::not_found;
    } else if (errname == "ENOTAUTHENTICATED" || errname == "EACCES" || errname == "EPERM") {
        code = Errc::refused;
    }
    std::string text = "TrueNAS: " + method + ": " + (reason.empty() ? message : reason);
    if (!errname.empty()) {
        text += " (" + errname + ")";
    }
    return std::unexpected(Error{std::move(text), code});
}

std::string url_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(k_hex[c >> 4]);
            out.push_back(k_hex[c & 0xf]);
        }
    }
    return out;
}

namespace {

std::string id_text(const json& id) {
    return id.is_string() ? id.get<std::string>() : id.dump();
}

} // namespace

util::Result<RestRequest> rest_request(const std::string& method, const json& params) {
    if (!params.is_array()) {
        return fail(Errc::invalid_input, method, ": params must be an array");
    }
    const std::size_t dot = method.rfind('.');
    if (dot == std::string::npos) {
        return fail(Errc::invalid_input, "no REST route for '", method, "'");
    }
    std::string ns = method.substr(0, dot);
    const std::string verb = method.substr(dot + 1);
    for (char& c : ns) {
        if (c == '.') {
            c = '/';
        }
    }
    const std::string base = "/api/v2.0/" + ns;
    if (method == "system.info" || method == "system.version") {
        return RestRequest{"GET", "/api/v2.0/system/" + verb, ""};
    }
    if (verb == "query") {
        std::string query;
        if (!params.empty()) {
            for (const json& filter : params[0]) {
                if (!filter.is_array() || filter.size() != 3 || filter[1] != "=" ||
                    !filter[0].is_string()) {
                    return fail(Errc::invalid_input, method,
                                ": REST queries take [field, \"=\", value] filters only");
                }
                query += (query.empty() ? "?" : "&") + url_encode(filter[0].get<std::string>()) +
                         "=" + url_encode(id_text(filter[2]));
            }
        }
        return RestRequest{"GET", base + query, ""};
    }
    if (verb == "create") {
        if (params.size() != 1) {
            return fail(Errc::invalid_input, method, ": expects [body]");
        }
        return RestRequest{"POST", base, params[0].dump()};
    }
    if (verb == "update") {
        if (params.size() != 2) {
            return fail(Errc::invalid_input, method, ": expects [id, body]");
        }
        return RestRequest{"PUT", base + "/id/" + url_encode(id_text(params[0])), params[1].dump()};
    }
    if (verb == "delete") {
        if (params.empty() || params.size() > 2) {
            return fail(Errc::invalid_input, method, ": expects [id, options?]");
        }
        return RestRequest{"DELETE", base + "/id/" + url_encode(id_text(params[0])),
                           params.size() == 2 ? params[1].dump() : ""};
    }
    return fail(Errc::invalid_input, "no REST route for '", method, "'");
}

util::Result<json> rest_result(long status, const std::string& body, const std::string& method) {
    json parsed = json::parse(body, nullptr, false);
    if (status >= 200 && status < 300) {
        if (body.empty()) {
            return json(nullptr);
        }
        if (parsed.is_discarded()) {
            return fail(Errc::integrity, "TrueNAS answered ", method, " with invalid JSON");
        }
        return parsed;
    }
    std::string detail;
    if (parsed.is_object()) {
        for (const auto& [field, value] : parsed.items()) {
            if (value.is_array()) {
                for (const json& item : value) {
                    if (item.is_object() && item.contains("message")) {
                        detail += (detail.empty() ? "" : "; ") + field + ": " +
                                  item["message"].get<std::string>();
                    }
                }
            } else if (field == "message" && value.is_string()) {
                detail += (detail.empty() ? "" : "; ") + value.get<std::string>();
            }
        }
    }
    const std::string prefix = "TrueNAS: " + method + ": HTTP " + std::to_string(status);
    if (status == 401 || status == 403) {
        return fail(Errc::refused, prefix, ": the API key was rejected");
    }
    if (detail.empty()) {
        // The first line of a plain-text body ("404: Not Found"), bounded.
        detail = body.substr(0, std::min(body.find('\n'), std::size_t{200}));
    }
    return fail(status == 404 ? Errc::not_found : Errc::failed, prefix, detail.empty() ? "" : ": ",
                detail);
}

// --- connecting ---

util::Result<std::unique_ptr<Api>> connect(const ClientOptions& options, const Secret& api_key) {
    auto jsonrpc = UHS_TRY(connect_jsonrpc(options, api_key));
    if (jsonrpc) {
        return std::move(*jsonrpc);
    }
    return connect_rest(options, api_key); // 24.10: the upgrade answered 404
}

} // namespace uhs::publish
