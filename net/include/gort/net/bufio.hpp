// bufio.hpp - buffered reading and writing over any stream (Go: bufio).
//
//   gort::bufio::Reader in(conn);                       // 4 KiB, fixed
//   gort::bufio::Writer out(conn);
//   std::string line;
//   while (in.read_line(line, 1024)) {                  // false at EOF; throws on errors
//     out.write("you said: ");
//     out.write(line);
//     out.put('\n');
//     out.flush();
//   }
//
// Buffers have a fixed size chosen at construction and never grow: a peer
// cannot make a connection buffer more than that. Whatever needs more than
// the buffer either streams through the caller's storage (read_line,
// read_until and read_full copy out as they go, bounded by the caller's
// limit) or fails with a clear error (errc::buffer_full, line_too_long).
//
// Errors follow io.hpp: error_code& overloads never throw; the others throw
// std::system_error. A read that gets bytes and an error from its source
// returns the bytes first and the error on the next call (Go's bufio keeps
// it in b.err the same way).
//
// Neither class is safe for concurrent use, as Go's; one fiber reads through
// a Reader while another writes through a Writer on the same Conn.
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "gort/net/io.hpp"

namespace gort::bufio {

// Go: bufio.Reader.
//
// Invariants: buf_[r_, w_) holds the bytes read from src_ and not yet
// consumed, 0 <= r_ <= w_ <= size_. err_ is an error the source returned
// with (or instead of) data and that is not reported yet: it is returned,
// and cleared, by the next call that would read from the source (Go:
// b.err and readErr). Spans returned by peek, read_slice, buffered_view and
// codec::read_frame point into buf_ and stay valid until the next call that
// may read from the source (which may move the bytes) or reset().
class Reader {
 public:
  static constexpr std::size_t kDefaultSize = 4096;
  static constexpr std::size_t kMinSize = 16;  // Go: minReadBufferSize

  explicit Reader(io::ReaderRef src, std::size_t size = kDefaultSize);
  Reader(Reader&&) noexcept = default;
  Reader& operator=(Reader&&) noexcept = default;

  // Go: Peek. The next n bytes without consuming them, reading until they are
  // there. Fewer bytes come with the error that stopped it: errc::buffer_full
  // at once if n > size() (Go first fills the whole buffer, which may wait
  // for bytes that cannot help), or the source's error.
  std::span<const char> peek(std::size_t n, std::error_code& ec);
  std::span<const char> peek(std::size_t n);

  // Go: Read. At least one byte (buffered ones first), or 0 and an error.
  // Reads the source once at most; a read of size() bytes or more with an
  // empty buffer goes straight into p (no copy).
  std::size_t read(std::span<char> p, std::error_code& ec);
  std::size_t read(std::span<char> p);

  // Go: ReadSlice. The bytes up to and including the first `delim`, as a
  // view into the buffer. Without a delimiter in size() bytes: those bytes
  // (consumed) and errc::buffer_full. At an error (errc::eof too): the bytes
  // before it, consumed, and the error.
  std::span<const char> read_slice(char delim, std::error_code& ec);
  std::span<const char> read_slice(char delim);

  // Go: ReadLine, with a limit. One line, without its "\n" or "\r\n", into
  // `line` (replaced); true if there is one. A last line without a newline
  // counts at EOF (as Go's); then false with errc::eof. max_len bounds the
  // line without its terminator and may exceed size(): the line is copied
  // out as it arrives.
  //
  // A longer line fails with errc::line_too_long as soon as max_len + 1
  // bytes of it have arrived (no waiting for its newline): `line` holds its
  // first max_len bytes (for a log), the bytes examined are consumed, and the
  // stream stands inside that line, or right after it if its newline was
  // already buffered. A server answers that with an error and closes the
  // connection (Go's http.Server does: 431, close); to skip to the next line
  // instead, read_until('\n') with a limit of your choice.
  //
  // Any other error (a reset or a deadline mid-line) returns false with it;
  // the bytes of the unfinished line are consumed and left in `line`.
  bool read_line(std::string& line, std::size_t max_len, std::error_code& ec);
  // Throws on errors except a clean end of stream, which returns false:
  //   while (in.read_line(line, 1024)) handle(line);
  bool read_line(std::string& line, std::size_t max_len);

  // Go: ReadString / ReadBytes, with a limit. The bytes up to and including
  // `delim` into `out` (replaced); true if the delimiter was found. max_len
  // bounds out.size() (delimiter included); a longer token is
  // errc::line_too_long with its first max_len bytes consumed and in `out`.
  // At an error (errc::eof too) `out` holds the bytes before it, consumed.
  bool read_until(char delim, std::string& out, std::size_t max_len, std::error_code& ec);
  // Throws on errors except end of stream, which returns false (`out` holds
  // the bytes after the last delimiter, possibly none).
  bool read_until(char delim, std::string& out, std::size_t max_len);

  // Go: io.ReadFull(b, p). All of p, or errc::unexpected_eof / eof / the
  // source's error, returning the bytes read.
  std::size_t read_full(std::span<char> p, std::error_code& ec);
  std::size_t read_full(std::span<char> p);

  // Go: Discard. Skips n bytes, reading as needed; fewer only with an error
  // (errc::eof if the stream ended first). Returns the bytes skipped.
  std::size_t discard(std::size_t n, std::error_code& ec);
  std::size_t discard(std::size_t n);

  // For parsers that look before they consume (the HTTP server, the codecs):
  //   for (;;) { auto v = r.buffered_view(); if (parse(v, used)) { r.consume(used); break; } r.fill(ec); }
  std::size_t buffered() const noexcept { return w_ - r_; }  // Go: Buffered
  std::span<const char> buffered_view() const noexcept { return {buf_.get() + r_, w_ - r_}; }
  void consume(std::size_t n) noexcept;  // drops n <= buffered() bytes
  // Reads from the source once into the free space, moving the buffered
  // bytes to the front first. Returns the bytes added (> 0), or 0 and an
  // error: errc::buffer_full when the buffer is full, a pending error, or
  // the source's. Bytes that came with an error are returned now and the
  // error on the next call.
  std::size_t fill(std::error_code& ec);
  std::size_t fill();

  std::size_t size() const noexcept { return size_; }  // Go: Size
  // Go: Reset. Reads from `src` from now on; drops buffered bytes and any
  // pending error. The buffer is kept.
  void reset(io::ReaderRef src) noexcept;

 private:
  void compact() noexcept;
  void fill_once() noexcept;  // Go: (*Reader).fill; needs free space
  std::error_code take_error() noexcept;  // Go: readErr

  io::ReaderRef src_;
  std::unique_ptr<char[]> buf_;
  std::size_t size_;
  std::size_t r_ = 0, w_ = 0;
  std::error_code err_;
};

// Go: bufio.Writer.
//
// Invariants: buf_[0, n_) holds bytes accepted and not yet written to dst_,
// n_ <= size_. Once a write to dst_ fails, err_ holds the error for good
// (Go: the Writer is sticky-failed): every later write and flush returns it
// and writes nothing; the bytes not written stay in buf_ (buffered() tells
// how many), until reset().
//
// The destructor does not flush (a flush can fail and can park): flush
// before dropping a Writer.
class Writer {
 public:
  static constexpr std::size_t kDefaultSize = 4096;

  explicit Writer(io::WriterRef dst, std::size_t size = kDefaultSize);  // size 0: the default
  Writer(Writer&&) noexcept = default;
  Writer& operator=(Writer&&) noexcept = default;

  // Go: Write. Accepts all of p, or fewer and an error (the sticky one).
  // Small writes are copied into the buffer; when p does not fit in the free
  // space:
  //   - empty buffer: p goes straight to the sink (one write, no copy);
  //   - p at least size(): buffered bytes and p go in one gather write
  //     (writev), where Go makes two writes;
  //   - otherwise (Go): the buffer is topped up from p and written, and the
  //     rest of p is buffered: one write, and small writes keep coalescing.
  std::size_t write(std::span<const char> p, std::error_code& ec);
  std::size_t write(std::span<const char> p);
  // Go: WriteString. For strings, string views and literals (without the
  // terminating NUL, which the span overload would take).
  template <class S>
    requires std::convertible_to<const S&, std::string_view>
  std::size_t write(const S& s, std::error_code& ec) {
    std::string_view v = s;
    return write(std::span<const char>(v.data(), v.size()), ec);
  }
  template <class S>
    requires std::convertible_to<const S&, std::string_view>
  std::size_t write(const S& s) {
    std::string_view v = s;
    return write(std::span<const char>(v.data(), v.size()));
  }
  // Go: WriteByte.
  void put(char c, std::error_code& ec);
  void put(char c);

  // Go: Flush. Writes the buffered bytes; after a failure the Writer is
  // sticky-failed (see above).
  void flush(std::error_code& ec);
  void flush();

  std::size_t available() const noexcept { return size_ - n_; }  // Go: Available
  std::size_t buffered() const noexcept { return n_; }           // Go: Buffered
  std::size_t size() const noexcept { return size_; }            // Go: Size
  std::error_code error() const noexcept { return err_; }        // the sticky error, if any
  // Go: Reset. Writes to `dst` from now on; drops buffered bytes and the
  // sticky error.
  void reset(io::WriterRef dst) noexcept;

 private:
  void fail(std::error_code& ec, std::error_code e) noexcept;

  io::WriterRef dst_;
  std::unique_ptr<char[]> buf_;
  std::size_t size_;
  std::size_t n_ = 0;
  std::error_code err_;
};

}  // namespace gort::bufio
