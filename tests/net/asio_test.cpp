// A gort::net::Conn is an Asio SyncReadStream/SyncWriteStream: Asio's and
// Beast's synchronous algorithms run on fibers unchanged.
#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "gort/gort.hpp"
#include "gort/net/net.hpp"

namespace http = boost::beast::http;

static_assert(boost::beast::is_sync_read_stream<gort::net::Conn>::value);
static_assert(boost::beast::is_sync_write_stream<gort::net::Conn>::value);

TEST_CASE("asio: read, read_until and write on a gort Conn", "[net][asio]") {
  gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    gort::go([&ln] {
      gort::net::Conn c = ln.accept();
      boost::asio::streambuf line;
      std::size_t n = boost::asio::read_until(c, line, '\n');
      std::string s(boost::asio::buffers_begin(line.data()), boost::asio::buffers_begin(line.data()) + n);
      boost::asio::write(c, boost::asio::buffer("got " + s));
      char fixed[5];
      boost::asio::read(c, boost::asio::buffer(fixed));
      boost::asio::write(c, boost::asio::buffer(fixed));
    });
    gort::net::Conn c = gort::net::dial("tcp", ln.address().string());
    boost::asio::write(c, boost::asio::buffer(std::string("hello\n")));
    boost::asio::streambuf reply;
    std::size_t n = boost::asio::read_until(c, reply, '\n');
    REQUIRE(std::string(boost::asio::buffers_begin(reply.data()), boost::asio::buffers_begin(reply.data()) + n) ==
            "got hello\n");
    reply.consume(n);
    boost::asio::write(c, boost::asio::buffer(std::string("12345")));
    char back[5];
    boost::asio::read(c, boost::asio::buffer(back));
    REQUIRE(std::string(back, 5) == "12345");
    // EOF reaches Asio as asio::error::eof.
    boost::system::error_code ec;
    char more[1];
    boost::asio::read(c, boost::asio::buffer(more), ec);
    REQUIRE(ec == boost::asio::error::eof);
  });
}

TEST_CASE("beast: synchronous http::read and http::write on a gort Conn", "[net][asio]") {
  gort::run([] {
    auto ln = gort::net::listen("tcp", "127.0.0.1:0");
    gort::go([&ln] {
      gort::net::Conn c = ln.accept();
      boost::beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(c, buf, req);
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain");
      res.body() = "you asked for " + std::string(req.target());
      res.prepare_payload();
      http::write(c, res);
    });
    gort::net::Conn c = gort::net::dial("tcp", ln.address().string());
    http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "localhost");
    http::write(c, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(c, buf, res);
    REQUIRE(res.result() == http::status::ok);
    REQUIRE(res.body() == "you asked for /healthz");
  });
}
