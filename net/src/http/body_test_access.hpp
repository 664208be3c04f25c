// body_test_access.hpp - Body's framing reached from unit tests and the
// fuzz target (Go: export_test.go), over a body held in memory. Private:
// not installed; tests add net/src to their include path.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "body_source.hpp"
#include "gort/http/body.hpp"
#include "gort/net/error.hpp"

namespace gort::http {

// A BodySource over a string that arrives in pieces: each fill() or
// read_direct() delivers the next piece size from `sizes` (cycled; 0 entries
// are read as 1), then net::errc::eof. The buffer is bounded like the
// server's (cap bytes), so a decoder that needed more than that fails.
class MemoryBodySource final : public detail::BodySource {
 public:
  MemoryBodySource(std::string_view data, std::vector<std::size_t> sizes, std::size_t cap)
      : data_(data), sizes_(std::move(sizes)), cap_(cap) {
    if (sizes_.empty()) sizes_.push_back(data_.size() + 1);
  }
  std::string_view buffered() noexcept override { return std::string_view(buf_).substr(begin_); }
  void consume(std::size_t n) noexcept override { begin_ += n; }
  bool fill(std::error_code& ec) override {
    if (begin_ > 0) {
      buf_.erase(0, begin_);
      begin_ = 0;
    }
    if (buf_.size() >= cap_) {
      ec = std::make_error_code(std::errc::no_buffer_space);
      return false;
    }
    std::size_t n = std::min(next(), cap_ - buf_.size());
    if (n == 0) {
      ec = make_error_code(net::errc::eof);
      return false;
    }
    buf_.append(data_.substr(0, n));
    data_.remove_prefix(n);
    return true;
  }
  std::size_t read_direct(std::span<char> dst, std::error_code& ec) override {
    std::size_t n = std::min(next(), dst.size());
    if (n == 0) {
      ec = make_error_code(net::errc::eof);
      return 0;
    }
    std::memcpy(dst.data(), data_.data(), n);
    data_.remove_prefix(n);
    direct_ += n;
    return n;
  }
  void first_read() override { first_reads_++; }
  std::size_t max_buffered() const noexcept { return cap_; }
  int first_reads() const noexcept { return first_reads_; }
  std::size_t direct_bytes() const noexcept { return direct_; }
  // Bytes neither delivered nor consumed (what follows the body).
  std::string rest() const { return buf_.substr(begin_) + std::string(data_); }

 private:
  std::size_t next() {
    std::size_t s = sizes_[i_++ % sizes_.size()];
    return std::min(std::max<std::size_t>(s, 1), data_.size());
  }
  std::string_view data_;
  std::vector<std::size_t> sizes_;
  std::size_t cap_;
  std::string buf_;
  std::size_t begin_ = 0, i_ = 0, direct_ = 0;
  int first_reads_ = 0;
};

struct BodyTest {
  static void start_length(Body& b, detail::BodySource& src, std::uint64_t length, std::uint64_t limit = UINT64_MAX) {
    b.start(&src, Body::Framing::length, length, nullptr, 0, limit);
  }
  static void start_chunked(Body& b, detail::BodySource& src, Header* trailer, std::size_t trailer_limit,
                            std::uint64_t limit = UINT64_MAX) {
    b.start(&src, Body::Framing::chunked, 0, trailer, trailer_limit, limit);
  }
};

}  // namespace gort::http
