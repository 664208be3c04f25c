// fuzz_io.hpp - in-memory streams whose behaviour the fuzz input chooses, for
// the fuzz targets of bufio, io and the codecs.
//
// Source: delivers `data` in chunks whose sizes come from a control script
// (one byte per read: 0 is an empty read, k returns at most k bytes), then
// ends with its end error (errc::eof, or a connection reset), which it may
// deliver together with the last bytes (Go's io.Reader allows it) and which
// it repeats on every later read. It never returns more than asked. As
// AsioSource it is the same stream behind read_some with Boost error codes.
//
// Sink: accepts bytes until a budget runs out, then fails with a reset
// (Conn::write's contract: all or an error), or, `quiet`, returns short
// without an error (which the helpers must report as errc::short_write). GatherSink adds writev;
// AsioSink is an Asio-style write_some that may write part of a buffer
// sequence (chunk sizes from the script) and fails once the budget is gone.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>

#include "gort/net/error.hpp"

namespace fuzz {

// Control bytes, taken one at a time; `fallback` once they run out.
struct Script {
  const std::uint8_t* p = nullptr;
  std::size_t n = 0;
  std::uint8_t next(std::uint8_t fallback) {
    if (n == 0) return fallback;
    n--;
    return *p++;
  }
  bool empty() const { return n == 0; }
};

inline const std::error_code kReset = std::make_error_code(std::errc::connection_reset);

struct Source {
  std::string data;
  Script chunks;            // read sizes
  std::error_code end = gort::net::errc::eof;
  bool end_with_data = false;  // the last bytes come with the end error
  std::size_t pos = 0;      // bytes delivered so far

  std::size_t read(std::span<char> buf, std::error_code& ec) {
    ec.clear();
    if (pos == data.size()) {
      ec = end;
      return 0;
    }
    std::size_t k = chunks.next(255);
    if (k == 0 || buf.empty()) return 0;  // an empty read: no bytes, no error
    std::size_t n = std::min({k, buf.size(), data.size() - pos});
    std::memcpy(buf.data(), data.data() + pos, n);
    pos += n;
    if (pos == data.size() && end_with_data) ec = end;
    return n;
  }
};

struct AsioSource {
  Source s;
  std::size_t read_some(boost::asio::mutable_buffer buf, boost::system::error_code& bec) {
    std::error_code ec;
    std::size_t n = s.read({static_cast<char*>(buf.data()), buf.size()}, ec);
    bec.clear();
    if (ec == gort::net::errc::eof) {
      bec = boost::asio::error::eof;
    } else if (ec) {
      bec = boost::system::error_code(ec.value(), boost::system::generic_category());
    }
    return n;
  }
};

struct Sink {
  std::string out;
  std::size_t budget = SIZE_MAX;
  bool quiet = false;  // past the budget: a short count without an error (breaks the contract)
  std::size_t write(std::span<const char> buf, std::error_code& ec) {
    ec.clear();
    std::size_t n = std::min(buf.size(), budget);
    out.append(buf.data(), n);
    budget -= n;
    if (n < buf.size() && !quiet) ec = kReset;
    return n;
  }
};

struct GatherSink : Sink {
  int writevs = 0;
  std::size_t writev(std::span<const std::span<const char>> bufs, std::error_code& ec) {
    writevs++;
    ec.clear();
    std::size_t total = 0;
    for (auto b : bufs) {
      total += write(b, ec);
      if (ec) break;
    }
    return total;
  }
};

struct AsioSink {
  std::string out;
  std::size_t budget = SIZE_MAX;
  Script chunks;  // how much of each write_some goes out (0: all of it)
  template <class Buffers>
  std::size_t write_some(const Buffers& bufs, boost::system::error_code& bec) {
    bec.clear();
    std::size_t want = boost::asio::buffer_size(bufs);
    if (want == 0) return 0;
    std::size_t k = chunks.next(0);
    std::size_t n = std::min(k == 0 ? want : std::min<std::size_t>(k, want), budget);
    if (n == 0) {
      bec = boost::asio::error::connection_reset;
      return 0;
    }
    std::size_t left = n;
    for (auto it = boost::asio::buffer_sequence_begin(bufs); left > 0 && it != boost::asio::buffer_sequence_end(bufs); ++it) {
      boost::asio::const_buffer b = *it;
      std::size_t m = std::min(left, b.size());
      out.append(static_cast<const char*>(b.data()), m);
      left -= m;
    }
    budget -= n;
    return n;
  }
};

}  // namespace fuzz
