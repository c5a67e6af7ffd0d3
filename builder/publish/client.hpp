// SPDX-License-Identifier: Apache-2.0
#pragma once

// The TrueNAS middleware client. Two API generations, chosen by probing:
//
//   25.04+  JSON-RPC 2.0 over WebSocket: wss://HOST/api/current, first call
//           auth.login_with_api_key [KEY]; positional params; errors as
//           {"code":-32001,"data":{"errname","reason","extra"}} (FACTS-netboot.md §5.2).
//   24.10   REST v2.0: /api/v2.0/<ns>/<method> with "Authorization: Bearer KEY"; dots become
//           slashes, ids in paths are URL-encoded (tank%2Fuhs) (§5.2). REST is gone in 26.
//
// connect() first opens the WebSocket; a 404 on the upgrade (24.10's nginx has no /api route)
// selects REST. Both ride on TLS only: an API key sent in clear is revoked by the middleware
// (plugins/auth_/login_ex_impl.py), so a plain http:// or ws:// endpoint is refused before
// anything is sent. The certificate is verified (system store, or --ca FILE for a
// self-signed NAS certificate).

#include "builder/publish/secret.hpp"
#include "builder/util/result.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace uhs::publish {

enum class Generation { jsonrpc, rest };
std::string_view to_string(Generation generation);

// Where the middleware listens. Always TLS.
struct Endpoint {
    std::string host; // as written: an IPv4 address or a name
    int port = 443;

    std::string host_header() const; // "host" or "host:port"
    std::string base_url() const;    // "https://host[:port]"
};

// Accepts "HOST", "HOST:PORT", "https://HOST[:PORT][/]" and "wss://HOST[:PORT][/]"; refuses
// http:// and ws:// (Errc::invalid_input) because the API key would travel in clear.
util::Result<Endpoint> parse_endpoint(const std::string& text);

struct ClientOptions {
    Endpoint endpoint;
    std::optional<std::string> ca_file; // PEM bundle that signs the NAS certificate
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds call_timeout{60000};
    int attempts = 4;                       // per call on HTTP 5xx, including the first
    std::chrono::milliseconds backoff{500}; // doubled after each 5xx
    std::function<void(std::chrono::milliseconds)> sleep; // the backoff wait (tests: none)
};

// One middleware method call, as both generations name it ("pool.dataset.create").
class Api {
public:
    virtual ~Api() = default;
    // Calls `method` with positional `params` (a JSON array). Errors: Errc::refused for an
    // authentication failure, Errc::timeout when no answer came in time, Errc::io when the
    // connection broke (the call may or may not have happened), Errc::not_found for a missing
    // object, Errc::failed for a method error (the middleware's reason is in the message).
    virtual util::Result<nlohmann::json> call(const std::string& method,
                                              const nlohmann::json& params) = 0;
    virtual Generation generation() const = 0;
};

// --- request building (pure, unit-tested) ---

// The JSON-RPC 2.0 request text.
std::string jsonrpc_request(std::uint64_t id, const std::string& method,
                            const nlohmann::json& params);

// Turns a JSON-RPC reply for `method` into a result or an error (Errc by errname:
// ENOENT -> not_found, ENOTAUTHENTICATED/EACCES/EPERM -> refused, else failed).
util::Result<nlohmann::json> jsonrpc_result(const nlohmann::json& reply, const std::string& method);

struct RestRequest {
    std::string verb; // GET, POST, PUT, DELETE
    std::string path; // "/api/v2.0/pool/dataset/id/tank%2Fuhs"
    std::string body; // JSON, empty for GET
};

// Maps a method call onto REST v2.0 (restful.py's conventions):
//   X.Y.query [filters]          GET    /api/v2.0/X/Y?field=value...  ("=" filters only)
//   X.Y.create [body]            POST   /api/v2.0/X/Y
//   X.Y.update [id, body]        PUT    /api/v2.0/X/Y/id/<id>
//   X.Y.delete [id, options?]    DELETE /api/v2.0/X/Y/id/<id>  (options as the body)
//   system.info, system.version  GET    /api/v2.0/system/info ...
// Anything else is refused (Errc::invalid_input): the client only calls what it maps.
util::Result<RestRequest> rest_request(const std::string& method, const nlohmann::json& params);

// Percent-encodes everything but unreserved characters (RFC 3986): "tank/uhs" -> "tank%2Fuhs".
std::string url_encode(std::string_view text);

// Turns a REST reply into a result or an error for `method`: 2xx -> parsed body (null when
// empty); 401/403 -> Errc::refused; 404 -> Errc::not_found; 422 -> Errc::failed with the
// validation messages ({"schema.field": [{"message", "errno"}]}); others -> Errc::failed.
util::Result<nlohmann::json> rest_result(long status, const std::string& body,
                                         const std::string& method);

// --- connecting ---

// Probes the NAS and logs in: JSON-RPC over wss:///api/current first, REST v2.0 when the
// upgrade answers 404. HTTP 5xx (on the upgrade or a REST call) is retried `attempts` times
// with backoff. Errors name the host and say whether it was a timeout, a refused connection,
// an untrusted certificate or a rejected key; never the key.
util::Result<std::unique_ptr<Api>> connect(const ClientOptions& options, const Secret& api_key);

} // namespace uhs::publish
