// SPDX-License-Identifier: Apache-2.0
// The seams under the APT client: bounded subprocesses and downloads into the store.
#include "builder/fetch/http.hpp"
#include "builder/fetch/store.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/subprocess.hpp"
#include "test_support.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace uhs;

TEST_CASE("a subprocess that outlives its timeout is killed", "[apt][subprocess]") {
    util::PosixCommandRunner runner;
    const auto started = std::chrono::steady_clock::now();
    auto slow = runner.run(
        util::Command{.argv = {"sleep", "30"}, .timeout = std::chrono::milliseconds(300)});
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(slow);
    CHECK(slow.error().code == util::Errc::timeout);
    CHECK(slow.error().message.find("sleep: killed after 300 ms") != std::string::npos);
    CHECK(took < std::chrono::seconds(10));
    // A child that closes its output early but keeps running is bounded too.
    auto quiet = runner.run(util::Command{.argv = {"sh", "-c", "exec >&- 2>&-; sleep 30"},
                                          .timeout = std::chrono::milliseconds(300)});
    REQUIRE_FALSE(quiet);
    CHECK(quiet.error().code == util::Errc::timeout);
    // Within the limit nothing changes.
    auto fast = runner.run(util::Command{.argv = {"sh", "-c", "echo hi; exit 3"},
                                         .timeout = std::chrono::seconds(20)});
    REQUIRE(fast);
    CHECK(fast->out == "hi\n");
    CHECK(fast->exit_code == 3);
}

namespace {

// A one-shot HTTP server on 127.0.0.1: answers the first request with `head`, then sends
// `chunk` bytes every `interval` until `total` bytes are out, the client leaves, or 15 s pass.
class TrickleServer {
public:
    TrickleServer(std::string head, std::size_t chunk, std::chrono::milliseconds interval,
                  std::size_t total)
        : m_listen(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(m_listen);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_listen.get(), 1) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_listen.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this, head = std::move(head), chunk, interval, total] {
            serve(head, chunk, interval, total);
        });
    }
    ~TrickleServer() {
        m_stop = true;
        m_thread.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/file"; }

private:
    void serve(const std::string& head, std::size_t chunk, std::chrono::milliseconds interval,
               std::size_t total) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        util::UniqueFd client;
        while (!client && !m_stop && std::chrono::steady_clock::now() < deadline) {
            pollfd p{m_listen.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) == 1) {
                client = util::UniqueFd(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
            }
        }
        if (!client) {
            return;
        }
        char request[4096];
        (void)::recv(client.get(), request, sizeof request, 0);
        if (::send(client.get(), head.data(), head.size(), MSG_NOSIGNAL) < 0) {
            return;
        }
        const std::string block(chunk, 'x');
        for (std::size_t sent = 0;
             sent < total && !m_stop && std::chrono::steady_clock::now() < deadline;
             sent += chunk) {
            if (::send(client.get(), block.data(), block.size(), MSG_NOSIGNAL) < 0) {
                return;
            }
            std::this_thread::sleep_for(interval);
        }
    }

    util::UniqueFd m_listen;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

fetch::FetchOptions one_attempt() {
    fetch::FetchOptions options;
    options.attempts = 1;
    options.progress = fetch::Progress::never;
    return options;
}

std::string blob(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        data[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    }
    return data;
}

} // namespace

TEST_CASE("http_get stops at the size it was promised", "[apt][fetch]") {
    test::TestDir dir;
    REQUIRE(util::write_file_atomic(dir.path() / "f", blob(5000)));
    const std::string url = "file://" + (dir.path() / "f").string();
    auto exact = fetch::http_get(url, one_attempt(), 5000);
    REQUIRE(exact);
    CHECK(exact->size() == 5000);
    auto over = fetch::http_get(url, one_attempt(), 4999);
    REQUIRE_FALSE(over);
    CHECK(over.error().code == util::Errc::integrity);
    CHECK(over.error().message == url + ": larger than the 4999 bytes expected");

    // A server that never stops (no Content-Length): cut off at the cap, not at memory's end.
    TrickleServer endless("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 65536,
                          std::chrono::milliseconds(1), 512u << 20);
    auto flood = fetch::http_get(endless.url(), one_attempt(), 1u << 20);
    REQUIRE_FALSE(flood);
    CHECK(flood.error().code == util::Errc::integrity);
}

TEST_CASE("a trickling server hits the low-speed limit, a slow one the total timeout",
          "[apt][fetch]") {
    {
        // 50 B/s: the old 1 B/s floor would have waited for all 1 MB (hours).
        TrickleServer trickle("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", 10,
                              std::chrono::milliseconds(200), 1000000);
        auto options = one_attempt();
        options.stall_timeout_seconds = 1;
        const auto started = std::chrono::steady_clock::now();
        auto slow = fetch::http_get(trickle.url(), options, 10u << 20);
        REQUIRE_FALSE(slow);
        CHECK(slow.error().code == util::Errc::timeout);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
    }
    {
        // ~40 KB/s is above the low-speed limit, but 100 MB would take 40 minutes.
        TrickleServer steady("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", 4000,
                             std::chrono::milliseconds(100), 100000000);
        auto options = one_attempt();
        options.transfer_timeout_seconds = 2;
        const auto started = std::chrono::steady_clock::now();
        auto slow = fetch::http_get(steady.url(), options, 200u << 20);
        REQUIRE_FALSE(slow);
        CHECK(slow.error().code == util::Errc::timeout);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
    }
}

TEST_CASE("a partial another run holds is left alone; a free one is resumed", "[apt][fetch]") {
    test::TestDir dir;
    const std::string data = blob(200000);
    const std::string sha = util::sha256_hex(data);
    REQUIRE(util::write_file_atomic(dir.path() / "blob", data));
    fetch::Store store(dir.path() / "store");
    const std::filesystem::path tmp = *store.temp_dir();
    const std::filesystem::path partial = tmp / (sha + ".partial");
    std::vector<fetch::DownloadItem> items{
        {"file://" + (dir.path() / "blob").string(), sha, data.size(), "blob"}};
    std::ostringstream progress;

    // Another fetch on the same store is writing SHA.partial (it holds the flock).
    REQUIRE(util::write_file_atomic(partial, "garbage"));
    util::UniqueFd other(::open(partial.c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(other);
    REQUIRE(::flock(other.get(), LOCK_EX) == 0);
    auto report = fetch::download_all(items, store, one_attempt(), progress, -1);
    REQUIRE(report);
    CHECK(report->downloaded == 1);
    CHECK(report->bytes == data.size());
    CHECK(store.read(sha));
    CHECK(*util::read_file(partial) == "garbage"); // the other run's bytes are untouched
    auto left = util::list_dir_sorted(tmp);
    REQUIRE(left);
    CHECK(*left == std::vector<std::string>{sha + ".partial"}); // no private temp left behind
    other.reset();

    // A partial nobody holds, with a correct prefix from a run that died: resumed, not redone.
    std::filesystem::remove(store.path_for(sha));
    REQUIRE(util::write_file_atomic(partial, data.substr(0, 150000)));
    report = fetch::download_all(items, store, one_attempt(), progress, -1);
    REQUIRE(report);
    CHECK(report->downloaded == 1);
    CHECK(report->bytes == 50000);
    CHECK(store.read(sha));
    CHECK_FALSE(std::filesystem::exists(partial));
}

TEST_CASE("store objects are re-hashed: a corrupt one is removed and fetched again",
          "[apt][fetch]") {
    test::TestDir dir;
    const std::string data = blob(3000);
    const std::string sha = util::sha256_hex(data);
    REQUIRE(util::write_file_atomic(dir.path() / "blob", data));
    fetch::Store store(dir.path() / "store");
    REQUIRE(store.insert_data(data, sha));
    CHECK(store.verify(sha));
    // Rot one byte on disk.
    std::string rotten = data;
    rotten[100] ^= 1;
    REQUIRE(util::write_file_atomic(store.path_for(sha), rotten));
    auto bad = store.verify(sha);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::Errc::integrity);
    CHECK_FALSE(std::filesystem::exists(store.path_for(sha)));
    CHECK(store.verify(sha).error().code == util::Errc::not_found);

    REQUIRE(util::write_file_atomic(store.path_for(sha), rotten));
    std::vector<fetch::DownloadItem> items{
        {"file://" + (dir.path() / "blob").string(), sha, data.size(), "blob"}};
    std::ostringstream progress;
    auto report = fetch::download_all(items, store, one_attempt(), progress, -1);
    REQUIRE(report);
    CHECK(report->already_present == 0);
    CHECK(report->downloaded == 1);
    CHECK(store.verify(sha));
}
