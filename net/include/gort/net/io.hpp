// io.hpp - Go's io.Reader and io.Writer as non-owning references, and the
// io helpers on them (Go: io.ReadFull, io.Copy, io.CopyN, io.CopyBuffer).
//
//   gort::net::Conn conn = ...;
//   gort::io::ReaderRef r = conn;              // anything with read(span<char>, error_code&)
//   std::array<char, 4> hdr;
//   gort::io::read_full(r, hdr);               // all 4 bytes, or throws (EOF, unexpected EOF)
//   gort::io::copy(file_writer, conn);         // until EOF, 32 KiB at a time
//
// ReaderRef and WriterRef are two pointers wide: the object and a table of
// functions made for its type when the reference is made. They let bufio and
// the codecs work over a gort::net::Conn, an Asio-style stream
// (read_some/write_some with boost::system::error_code) or a test fake
// without virtual inheritance, and without templates in every caller. They do
// not own their target: it must outlive them.
//
// Contract of a source (Go's io.Reader, tightened as gort::net::Conn has it):
// read(buf, ec) with a non-empty buf returns at least one byte, or 0 and an
// error; errc::eof ends the stream. A source may also return bytes and an
// error together (Go allows it); the helpers here then use the bytes first.
// A source that returns 0 without an error 100 times in a row is reported as
// errc::no_progress instead of looping forever (Go: io.ErrNoProgress).
//
// Contract of a sink: write(buf, ec) writes all of buf or sets an error (as
// Conn::write does); a short count without an error is reported by the
// helpers as errc::short_write (Go: io.ErrShortWrite).
//
// Errors are std::error_code values, mostly gort::net::errc (eof,
// unexpected_eof, short_write, ...; see gort/net/error.hpp). The throwing
// overloads throw std::system_error carrying that code; the error_code&
// overloads never throw.
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <concepts>
#include <cstddef>
#include <span>
#include <system_error>
#include <type_traits>

#include "gort/net/error.hpp"

namespace gort::io {

// What ReaderRef accepts, in order of preference.
template <class R>
concept Readable = requires(R& r, std::span<char> buf, std::error_code& ec) {
  { r.read(buf, ec) } -> std::convertible_to<std::size_t>;
};
template <class R>
concept AsioReadable = requires(R& r, boost::asio::mutable_buffer buf, boost::system::error_code& ec) {
  { r.read_some(buf, ec) } -> std::convertible_to<std::size_t>;
};

// What WriterRef accepts. A sink with writev(span of spans, error_code&) gets
// its gather writes used as they are; an Asio-style sink
// (write_some(ConstBufferSequence, boost::system::error_code&)) gets them as
// buffer sequences, which for gort::net::Conn is one writev(2); any other
// sink gets one write per buffer.
template <class W>
concept Writable = requires(W& w, std::span<const char> buf, std::error_code& ec) {
  { w.write(buf, ec) } -> std::convertible_to<std::size_t>;
};
template <class W>
concept GatherWritable = requires(W& w, std::span<const std::span<const char>> bufs, std::error_code& ec) {
  { w.writev(bufs, ec) } -> std::convertible_to<std::size_t>;
};
template <class W>
concept AsioWritable = requires(W& w, const std::array<boost::asio::const_buffer, 1>& bufs,
                                boost::system::error_code& ec) {
  { w.write_some(bufs, ec) } -> std::convertible_to<std::size_t>;
};

namespace detail {
// An Asio error as gort::net would have reported it: undoes Conn's mapping
// to Asio (eof, operation_aborted for a closed connection, timed_out), keeps
// errno values as std::generic_category and converts anything else.
std::error_code from_asio(const boost::system::error_code& e) noexcept;

// Buffers that fit one write_some call on an Asio-style sink.
inline constexpr std::size_t kAsioGather = 16;

template <class W>
std::size_t asio_writev(W& w, std::span<const std::span<const char>> bufs, std::error_code& ec) {
  ec.clear();
  std::size_t total = 0, i = 0, off = 0;  // next byte to send: bufs[i][off]
  for (;;) {
    while (i < bufs.size() && off >= bufs[i].size()) {
      i++;
      off = 0;
    }
    if (i == bufs.size()) return total;
    std::array<boost::asio::const_buffer, kAsioGather> seq{};  // unused entries stay empty
    std::size_t k = 0;
    for (std::size_t j = i, o = off; j < bufs.size() && k < seq.size(); j++, o = 0) {
      if (bufs[j].size() > o) seq[k++] = boost::asio::const_buffer(bufs[j].data() + o, bufs[j].size() - o);
    }
    boost::system::error_code bec;
    std::size_t n = w.write_some(seq, bec);
    if (n == 0 && !bec) {  // Asio promises progress or an error; do not spin on a sink that breaks it
      ec = make_error_code(net::errc::short_write);
      return total;
    }
    total += n;
    while (n > 0) {  // advance (i, off) past the n bytes written
      std::size_t step = std::min(n, bufs[i].size() - off);
      off += step;
      n -= step;
      if (off == bufs[i].size()) {
        i++;
        off = 0;
      }
    }
    if (bec) {
      ec = from_asio(bec);
      return total;
    }
  }
}
}  // namespace detail

// Go: io.Reader, as a reference.
class ReaderRef {
 public:
  template <class R>
    requires(!std::is_same_v<std::remove_cv_t<R>, ReaderRef> && (Readable<R> || AsioReadable<R>))
  ReaderRef(R& r) noexcept  // NOLINT(google-explicit-constructor): a reference converts like R&
      : obj_(static_cast<void*>(&r)), read_(&read_fn<R>) {}

  std::size_t read(std::span<char> buf, std::error_code& ec) const { return read_(obj_, buf, ec); }
  std::size_t read(std::span<char> buf) const;  // throws std::system_error, errc::eof at the end

 private:
  template <class R>
  static std::size_t read_fn(void* obj, std::span<char> buf, std::error_code& ec) {
    R& r = *static_cast<R*>(obj);
    if constexpr (Readable<R>) {
      return r.read(buf, ec);
    } else {
      boost::system::error_code bec;
      std::size_t n = r.read_some(boost::asio::buffer(buf.data(), buf.size()), bec);
      ec = detail::from_asio(bec);
      return n;
    }
  }

  void* obj_;
  std::size_t (*read_)(void*, std::span<char>, std::error_code&);
};

// Go: io.Writer, as a reference, with a gather write (Go: net.Buffers).
class WriterRef {
 public:
  template <class W>
    requires(!std::is_same_v<std::remove_cv_t<W>, WriterRef> && (Writable<W> || AsioWritable<W>))
  WriterRef(W& w) noexcept  // NOLINT(google-explicit-constructor)
      : obj_(static_cast<void*>(&w)), ops_(&kOps<W>) {}

  // All of buf, or an error (with how much was written).
  std::size_t write(std::span<const char> buf, std::error_code& ec) const { return ops_->write(obj_, buf, ec); }
  // Every buffer in order, in as few system calls as the sink allows.
  std::size_t writev(std::span<const std::span<const char>> bufs, std::error_code& ec) const {
    return ops_->writev(obj_, bufs, ec);
  }
  std::size_t write(std::span<const char> buf) const;  // throw std::system_error
  std::size_t writev(std::span<const std::span<const char>> bufs) const;

 private:
  struct Ops {
    std::size_t (*write)(void*, std::span<const char>, std::error_code&);
    std::size_t (*writev)(void*, std::span<const std::span<const char>>, std::error_code&);
  };

  template <class W>
  static std::size_t write_fn(void* obj, std::span<const char> buf, std::error_code& ec) {
    W& w = *static_cast<W*>(obj);
    if constexpr (Writable<W>) {
      return w.write(buf, ec);
    } else {
      std::span<const char> one[1] = {buf};
      return detail::asio_writev(w, one, ec);
    }
  }
  template <class W>
  static std::size_t writev_fn(void* obj, std::span<const std::span<const char>> bufs, std::error_code& ec) {
    W& w = *static_cast<W*>(obj);
    if constexpr (GatherWritable<W>) {
      return w.writev(bufs, ec);
    } else if constexpr (AsioWritable<W>) {
      return detail::asio_writev(w, bufs, ec);
    } else {
      // No gather write: one write per buffer, stopping at the first error or
      // short write (which the caller turns into errc::short_write).
      ec.clear();
      std::size_t total = 0;
      for (auto b : bufs) {
        if (b.empty()) continue;
        std::size_t n = w.write(b, ec);
        total += n;
        if (ec || n < b.size()) break;
      }
      return total;
    }
  }
  template <class W>
  static constexpr Ops kOps{&write_fn<W>, &writev_fn<W>};

  void* obj_;
  const Ops* ops_;
};

// Go: io.ReadFull. Fills all of buf: a short read ends with
// errc::unexpected_eof if some bytes came before the end of the stream, with
// errc::eof if none did, or with the source's error. Returns the bytes read.
std::size_t read_full(ReaderRef r, std::span<char> buf, std::error_code& ec);
std::size_t read_full(ReaderRef r, std::span<char> buf);

// Go: io.Copy. Copies until the source's end of stream (which is not an
// error) or the first error, through a 32 KiB buffer on the heap. Returns
// the bytes written.
std::size_t copy(WriterRef dst, ReaderRef src, std::error_code& ec);
std::size_t copy(WriterRef dst, ReaderRef src);
// Go: io.CopyBuffer, through the caller's (non-empty) buffer: no allocation.
std::size_t copy_buffer(WriterRef dst, ReaderRef src, std::span<char> buf, std::error_code& ec);
std::size_t copy_buffer(WriterRef dst, ReaderRef src, std::span<char> buf);
// Go: io.CopyN. Copies exactly n bytes; fewer only with an error (errc::eof
// if the source ended first).
std::size_t copy_n(WriterRef dst, ReaderRef src, std::size_t n, std::error_code& ec);
std::size_t copy_n(WriterRef dst, ReaderRef src, std::size_t n);

// The throwing overloads' exception: std::system_error with ec.
[[noreturn]] void throw_error(const std::error_code& ec);

}  // namespace gort::io
