// SPDX-License-Identifier: Apache-2.0
// The 24.10 generation: REST v2.0 over libcurl, each call mapped by rest_request (client.cpp)
// and retried on HTTP 5xx with backoff.
#include "builder/publish/transport.hpp"

#include <utility>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::Error;
using util::fail;

namespace {

// An answer larger than this is no TrueNAS answer (the biggest, a dataset query, is a few
// hundred kB): it is refused rather than held in memory. The WebSocket side has the same limit
// per message (websocket.hpp).
constexpr std::size_t k_max_answer = 64u << 20;

struct AnswerBody {
    std::string text;
    bool too_big = false;
};

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
    auto* body = static_cast<AnswerBody*>(out);
    const std::size_t bytes = size * count;
    if (bytes > k_max_answer - body->text.size()) {
        body->too_big = true;
        return 0; // libcurl stops the transfer: CURLE_WRITE_ERROR
    }
    body->text.append(data, bytes);
    return bytes;
}

class RestApi final : public Api {
public:
    static util::Result<std::unique_ptr<RestApi>> create(const ClientOptions& options,
                                                         const Secret& api_key) {
        init_curl();
        auto api = std::unique_ptr<RestApi>(new RestApi(options));
        api->m_easy.reset(curl_easy_init());
        if (!api->m_easy) {
            return fail(Errc::failed, "curl_easy_init failed");
        }
        CURL* c = api->m_easy.get();
        apply_tls(c, options, api->m_error->data());
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(options.call_timeout));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
        // The key lives only in this header list and is never logged (no CURLOPT_VERBOSE).
        const std::string auth = "Authorization: Bearer " + api_key.reveal();
        curl_slist* list = curl_slist_append(nullptr, auth.c_str());
        list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Accept: application/json");
        api->m_headers.reset(list);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        return api;
    }

    util::Result<json> call(const std::string& method, const json& params) override {
        const RestRequest request = UHS_TRY(rest_request(method, params));
        CURL* c = m_easy.get();
        const std::string url = m_options.endpoint.base_url() + request.path;
        std::chrono::milliseconds backoff = m_options.backoff;
        for (int attempt = 1;; ++attempt) {
            AnswerBody body;
            (*m_error)[0] = '\0';
            curl_easy_setopt(c, CURLOPT_URL, url.c_str());
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
            if (request.verb == "GET") {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
            } else {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                                 request.verb == "POST" ? nullptr : request.verb.c_str());
            }
            // libcurl itself resends a request once when a reused keep-alive connection turns
            // out dead before any answer byte; publish tolerates that because each step asks
            // first and a duplicate create fails visibly ("already exists") instead of doubling.
            const CURLcode code = curl_easy_perform(c);
            if (body.too_big) {
                return fail(Errc::integrity, "the answer to ", method, " is over ",
                            std::to_string(k_max_answer >> 20),
                            " MiB: refused (no TrueNAS answer is that large)");
            }
            if (code != CURLE_OK) {
                Error error = curl_error(code, m_error->data(), m_options, "during " + method);
                if (error.code == Errc::io) {
                    error.message += " (the call may or may not have taken effect; publish "
                                     "checks before it changes anything, so run it again)";
                }
                return std::unexpected(std::move(error));
            }
            long status = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 500 && attempt < m_options.attempts) {
                sleep_for(m_options, backoff);
                backoff *= 2;
                continue;
            }
            auto result = rest_result(status, body.text, method);
            if (!result && status >= 500) {
                result.error().message += " (after " + std::to_string(attempt) + " attempts)";
            }
            return result;
        }
    }

    Generation generation() const override { return Generation::rest; }

private:
    explicit RestApi(const ClientOptions& options) : m_options(options) {}
    ClientOptions m_options;
    Easy m_easy;
    Slist m_headers;
    std::unique_ptr<CurlErrorBuffer> m_error = std::make_unique<CurlErrorBuffer>();
};

} // namespace

util::Result<std::unique_ptr<Api>> connect_rest(const ClientOptions& options,
                                                const Secret& api_key) {
    auto api = UHS_TRY(RestApi::create(options, api_key));
    // Checks the key and the route before anything changes.
    const json info = UHS_TRY(api->call("system.info", json::array()));
    (void)info;
    return std::unique_ptr<Api>(std::move(api));
}

} // namespace uhs::publish
