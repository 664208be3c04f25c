// response_writer.cpp - see response_writer.hpp (Go: net/http response,
// chunkWriter.writeHeader, finishRequest).
#include "gort/http/response_writer.hpp"

#include <charconv>

#include "gort/http/error.hpp"
#include "gort/http/status.hpp"
#include "gort/scheduler/log.hpp"
#include "server_conn.hpp"

namespace gort::http {

namespace {
// Go: bufferBeforeChunkingSize is 2048; 4 KiB keeps a typical page or JSON
// document in one response with a Content-Length.
constexpr std::size_t kBufferBeforeChunking = 4096;
// Pieces at least this large are written without copying them into `out`.
constexpr std::size_t kWriteThrough = 16 * 1024;
constexpr std::size_t kFlushAt = 64 * 1024;

bool body_allowed(int status) noexcept { return !((status >= 100 && status < 200) || status == 204 || status == 304); }

void append_uint(std::string& out, std::uint64_t v, int base = 10) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v, base);
  out.append(buf, r.ptr);
}

// "name: value\r\n", with what would split the response neutralised (Go:
// Header.writeSubset): a CR, LF or other control byte in the value becomes
// a space; a field whose name is not a token is dropped (Go drops it too:
// a handler has no way to learn of an error here).
void append_field(std::string& out, std::string_view name, std::string_view value) {
  if (!valid_field_name(name)) {
    gort::detail::log_error("http: dropped response header with invalid name %zu bytes long", name.size());
    return;
  }
  out += name;
  out += ": ";
  if (valid_field_value(value)) {
    out += value;
  } else {
    for (char ch : value) {
      auto c = static_cast<unsigned char>(ch);
      out += (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : ch;
    }
  }
  out += "\r\n";
}
}  // namespace

void ResponseWriter::reset(bool head, bool http10, bool keep_alive) noexcept {
  header_.clear();
  pending_.clear();
  status_ = 0;
  head_ = head;
  http10_ = http10;
  keep_alive_ = keep_alive;
  header_sent_ = false;
  chunked_ = false;
  failed_ = false;
  declared_ = -1;
  written_ = 0;
}

void ResponseWriter::write_header(int status) noexcept {
  if (status_ != 0) return;  // Go logs "superfluous response.WriteHeader call"
  if (status < 100 || status > 999) {
    gort::detail::log_error("http: invalid write_header code %d", status);
    status = 500;
  }
  if (status >= 100 && status < 200 && status != 101) return;  // informational: not supported, ignored
  status_ = status;
  // Go: a Content-Length the handler set is honoured if valid, dropped if not.
  std::string_view cl = header_.get("Content-Length");
  if (!cl.empty()) {
    std::uint64_t v = 0;
    auto r = std::from_chars(cl.data(), cl.data() + cl.size(), v);
    if (r.ec == std::errc() && r.ptr == cl.data() + cl.size() && v <= static_cast<std::uint64_t>(INT64_MAX)) {
      declared_ = static_cast<std::int64_t>(v);
    } else {
      gort::detail::log_error("http: invalid Content-Length of %.*s", static_cast<int>(cl.size()), cl.data());
      header_.del("Content-Length");
    }
  }
}

void ResponseWriter::send_header(std::int64_t length) {
  bool allowed = body_allowed(status_);
  if (keep_alive_ && conn_->draining()) keep_alive_ = false;
  // Go: the unread request body is settled before the response starts (a
  // client that sends its whole request before reading could deadlock).
  if (keep_alive_ && !conn_->settle_body()) keep_alive_ = false;
  std::string& out = conn_->out();
  if (status_ == 200) {
    out += http10_ ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n";
  } else {
    out += http10_ ? "HTTP/1.0 " : "HTTP/1.1 ";
    append_uint(out, static_cast<std::uint64_t>(status_));
    out += ' ';
    std::string_view text = status_text(status_);
    out += text.empty() ? std::string_view("status code ") : text;
    if (text.empty()) append_uint(out, static_cast<std::uint64_t>(status_));
    out += "\r\n";
  }
  bool has_date = false, has_type = false, has_length = false, has_server = false;
  for (Header::Field f : header_) {
    // Framing is the server's business.
    if (iequals(f.name, "Transfer-Encoding")) continue;
    if (iequals(f.name, "Connection")) {
      if (has_token(f.value, "close")) keep_alive_ = false;
      continue;
    }
    if (f.name.size() == 4 && iequals(f.name, "Date")) has_date = true;
    if (iequals(f.name, "Content-Type")) has_type = true;
    if (iequals(f.name, "Content-Length")) {
      if (!allowed) continue;
      has_length = true;
    }
    if (iequals(f.name, "Server")) has_server = true;
    append_field(out, f.name, f.value);
  }
  if (!has_date) append_date_header(out);
  const std::string& name = conn_->options().server_name;
  if (!has_server && !name.empty()) append_field(out, "Server", name);
  if (allowed && !has_type && !pending_.empty()) {
    out += "Content-Type: ";
    out += detect_content_type(pending_);
    out += "\r\n";
  }
  if (allowed) {
    if (length >= 0) {
      if (!has_length) {
        out += "Content-Length: ";
        append_uint(out, static_cast<std::uint64_t>(length));
        out += "\r\n";
      }
    } else if (http10_) {
      keep_alive_ = false;  // the body ends when the connection does
    } else if (!head_) {
      out += "Transfer-Encoding: chunked\r\n";
      chunked_ = true;
    }
  }
  if (!keep_alive_) {
    out += "Connection: close\r\n";
  } else if (http10_) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  header_sent_ = true;
}

void ResponseWriter::append_body(std::string_view data) {
  if (data.empty() || head_) return;
  std::string& out = conn_->out();
  std::error_code ec;
  if (chunked_) {
    char hdr[24];
    auto r = std::to_chars(hdr, hdr + sizeof hdr - 2, data.size(), 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    std::string_view size_line(hdr, static_cast<std::size_t>(r.ptr - hdr));
    if (data.size() >= kWriteThrough) {
      if (!conn_->write_through(size_line, data, "\r\n", ec)) failed_ = true;
      return;
    }
    out += size_line;
    out += data;
    out += "\r\n";
  } else {
    if (data.size() >= kWriteThrough) {
      if (!conn_->write_through(data, {}, {}, ec)) failed_ = true;
      return;
    }
    out += data;
  }
  if (out.size() >= kFlushAt && !conn_->flush(ec)) failed_ = true;
}

std::size_t ResponseWriter::write(std::string_view data, std::error_code& ec) noexcept {
  ec.clear();
  if (failed_) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return 0;
  }
  if (status_ == 0) write_header(200);
  if (!body_allowed(status_)) {
    ec = make_error_code(errc::body_not_allowed);
    return 0;
  }
  if (data.empty()) return 0;
  if (declared_ >= 0 && written_ + data.size() > static_cast<std::uint64_t>(declared_)) {
    ec = make_error_code(errc::content_length_exceeded);
    return 0;
  }
  written_ += data.size();
  try {
    if (!header_sent_) {
      if (pending_.size() + data.size() <= kBufferBeforeChunking) {
        pending_.append(data);
        return data.size();
      }
      send_header(declared_);
      append_body(pending_);
      pending_.clear();
    }
    append_body(data);
  } catch (const std::bad_alloc&) {
    failed_ = true;
    ec = std::make_error_code(std::errc::not_enough_memory);
    return 0;
  }
  if (failed_) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return 0;
  }
  return data.size();
}

std::size_t ResponseWriter::write(std::string_view data) {
  std::error_code ec;
  std::size_t n = write(data, ec);
  if (ec) throw std::system_error(ec, "http: write");
  return n;
}

void ResponseWriter::flush(std::error_code& ec) noexcept {
  ec.clear();
  if (failed_) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return;
  }
  if (status_ == 0) write_header(200);
  try {
    if (!header_sent_) {
      send_header(declared_);
      append_body(pending_);
      pending_.clear();
    }
  } catch (const std::bad_alloc&) {
    failed_ = true;
    ec = std::make_error_code(std::errc::not_enough_memory);
    return;
  }
  if (failed_ || !conn_->flush(ec)) {
    failed_ = true;
    if (!ec) ec = std::make_error_code(std::errc::broken_pipe);
  }
}

void ResponseWriter::flush() {
  std::error_code ec;
  flush(ec);
  if (ec) throw std::system_error(ec, "http: flush");
}

void ResponseWriter::shrink() noexcept {
  header_.shrink(16 * 1024);
  if (pending_.capacity() > 2 * kBufferBeforeChunking) std::string().swap(pending_);
}

bool ResponseWriter::finish(std::error_code& ec) noexcept {
  ec.clear();
  if (status_ == 0) write_header(200);
  try {
    if (!header_sent_) {
      std::int64_t len = declared_;
      if (len < 0 && body_allowed(status_) && !(head_ && written_ == 0)) len = static_cast<std::int64_t>(written_);
      send_header(len);
      append_body(pending_);
      pending_.clear();
    } else if (chunked_ && !failed_) {
      conn_->out() += "0\r\n\r\n";
    }
  } catch (const std::bad_alloc&) {
    failed_ = true;
  }
  if (failed_) {
    ec = std::make_error_code(std::errc::broken_pipe);
    return false;
  }
  // A body shorter than its declared length leaves the client waiting for
  // the rest: the connection cannot be reused (Go closes it too).
  if (declared_ >= 0 && !head_ && body_allowed(status_) && written_ < static_cast<std::uint64_t>(declared_)) {
    return false;
  }
  return keep_alive_;
}

}  // namespace gort::http
