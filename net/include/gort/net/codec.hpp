// codec.hpp - framing codecs (netty: LineBasedFrameDecoder,
// DelimiterBasedFrameDecoder, FixedLengthFrameDecoder,
// LengthFieldBasedFrameDecoder and LengthFieldPrepender; gnet's and getty's
// codecs) behind one small interface, and the per-connection frame loop.
//
//   gort::codec::LengthFieldBased codec(gort::codec::length_prefixed(1 << 20));   // 4-byte big-endian
//   gort::bufio::Reader in(conn, codec.max_frame_length());
//   std::error_code ec;
//   for (;;) {
//     auto frame = gort::codec::read_frame(in, codec, ec);   // payload, header stripped
//     if (ec) break;                                          // eof, frame_too_long, ...: close
//     ...
//   }
//
// decode() looks at the bytes received so far and answers with one of
// getty's five cases:
//   error in the stream              {error, 0, {}, ec}       close the connection
//   header incomplete                {need_more, 0, {}, {}}   read more
//   header read, body incomplete     {need_more, 0, {}, {}}   read more (need: the frame's size)
//   exactly one frame                {frame, n == in.size(), payload}
//   several frames in one read       {frame, n < in.size(), payload}: decode in.subspan(n) next
// It never copies: the frame points into the input. A frame longer than its
// codec's maximum is errc::frame_too_long, found as early as the bytes allow
// (from the length field before the body arrives; for the delimiter codecs
// as soon as more than the maximum has arrived without a delimiter); other
// impossible input is errc::bad_frame. After an error the stream has no
// frame boundary left to resync on: the connection is closed (that
// connection only).
//
// The built-in codecs hold only their configuration and never change it in
// decode or encode, so one instance may serve many connections at once; a
// codec of your own may keep per-stream state (then one per connection). The
// interface is virtual (one indirect call per frame, next to a system call)
// so a connection can pick its codec at run time and read_frame is compiled
// once; the concrete classes are final, so a call through one of them is
// direct.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "gort/net/bufio.hpp"
#include "gort/net/io.hpp"

namespace gort::codec {

enum class DecodeStatus { need_more, frame, error };

struct Decoded {
  DecodeStatus status = DecodeStatus::need_more;
  std::size_t consumed = 0;         // bytes of input the frame takes (header and delimiter included)
  std::span<const char> frame;      // status frame: the payload, pointing into the input
  std::error_code ec;               // status error
  // need_more: the input size that completes the frame, when the codec knows
  // it (a length field was read; a fixed length); 0 otherwise. Lets a reader
  // fail at once when the frame cannot fit its buffer.
  std::size_t need = 0;
};

class Codec {
 public:
  virtual ~Codec();
  // One frame from the front of `in`, or what is missing (see above).
  virtual Decoded decode(std::span<const char> in) = 0;
  // Appends the frame for `payload` to `out`. Fails (errc::frame_too_long,
  // errc::bad_frame), appending nothing, for a payload the decoder on the
  // other side would reject: longer than the maximum, containing the
  // delimiter, not the fixed length, a length the field cannot hold.
  virtual void encode(std::span<const char> payload, std::string& out, std::error_code& ec) = 0;
  void encode(std::span<const char> payload, std::string& out);  // throws std::system_error
};

// netty: LineBasedFrameDecoder(maxLength, stripDelimiter, failFast = true).
// Frames end with "\n" or "\r\n"; max_len bounds a line without its end of
// line. With strip the frame excludes the end of line, else includes it.
// encode appends payload + "\n"; a payload with a '\n' or ending in '\r'
// (which a decoder would take for a "\r\n") is errc::bad_frame.
class LineBased final : public Codec {
 public:
  explicit LineBased(std::size_t max_len, bool strip = true) noexcept : max_len_(max_len), strip_(strip) {}
  using Codec::encode;
  Decoded decode(std::span<const char> in) override;
  void encode(std::span<const char> payload, std::string& out, std::error_code& ec) override;
  std::size_t max_len() const noexcept { return max_len_; }

 private:
  std::size_t max_len_;
  bool strip_;
};

// netty: DelimiterBasedFrameDecoder(maxFrameLength, stripDelimiter, failFast
// = true, delimiter), with one delimiter of any length. max_len bounds a
// frame without its delimiter. encode appends payload + delimiter.
class DelimiterBased final : public Codec {
 public:
  // Throws std::invalid_argument for an empty delimiter.
  DelimiterBased(std::string delimiter, std::size_t max_len, bool strip = true);
  using Codec::encode;
  Decoded decode(std::span<const char> in) override;
  void encode(std::span<const char> payload, std::string& out, std::error_code& ec) override;

 private:
  std::string delim_;
  std::size_t max_len_;
  bool strip_;
};

// netty: FixedLengthFrameDecoder. Every frame is n bytes; there is no
// header, so "header incomplete" and "body incomplete" are one case and a
// stream cannot be in error. encode takes payloads of exactly n bytes.
class FixedLength final : public Codec {
 public:
  explicit FixedLength(std::size_t n);  // throws std::invalid_argument for 0
  using Codec::encode;
  Decoded decode(std::span<const char> in) override;
  void encode(std::span<const char> payload, std::string& out, std::error_code& ec) override;

 private:
  std::size_t n_;
};

// netty: LengthFieldBasedFrameDecoder's parameters. A frame is
//   [length_field_offset bytes][length field][...rest of the header][body]
// The field holds an unsigned length L; the whole frame is
//   length_field_offset + length_field_length + L + length_adjustment
// bytes (so a field that counts the whole frame has adjustment
// -(offset + field length)), and the frame returned skips its first
// initial_bytes_to_strip bytes. max_frame_length bounds the whole frame,
// header included (as netty's), so a bufio::Reader of max_frame_length
// bytes holds any valid frame.
struct LengthFieldOptions {
  std::size_t max_frame_length = 0;
  std::size_t length_field_offset = 0;
  std::size_t length_field_length = 4;  // 1, 2, 3, 4 or 8 bytes
  std::int64_t length_adjustment = 0;
  std::size_t initial_bytes_to_strip = 0;
  std::endian byte_order = std::endian::big;
};

// The common case: a length prefix of `field_length` bytes counting the
// payload only, stripped from the frame; payloads up to max_payload bytes.
LengthFieldOptions length_prefixed(std::size_t max_payload, std::size_t field_length = 4,
                                   std::endian order = std::endian::big) noexcept;

// netty: LengthFieldBasedFrameDecoder (failFast = true) and, for encode,
// LengthFieldPrepender. encode writes length_field_offset zero bytes, the
// length field, and the payload: decode gives the payload back when
// initial_bytes_to_strip covers the header (as length_prefixed does); with
// less stripped it gives the header's tail too, as netty's decoder does.
class LengthFieldBased final : public Codec {
 public:
  // Throws std::invalid_argument for a field length other than 1, 2, 3, 4, 8,
  // a zero max_frame_length, or a header that cannot fit in it.
  explicit LengthFieldBased(const LengthFieldOptions& options);
  using Codec::encode;
  Decoded decode(std::span<const char> in) override;
  void encode(std::span<const char> payload, std::string& out, std::error_code& ec) override;
  std::size_t max_frame_length() const noexcept { return o_.max_frame_length; }
  std::size_t header_length() const noexcept { return end_offset_; }  // offset + field length

 private:
  LengthFieldOptions o_;
  std::size_t end_offset_;
};

// The next frame from `in`, reading as needed: decode, and when more is
// needed, fill and decode again. The frame (payload) points into the
// reader's buffer and stays valid until the next call that reads from it.
// A frame must fit the reader's buffer whole (header and delimiter too):
// make the reader at least the codec's maximum frame plus header; a frame
// that cannot fit is errc::frame_too_long, found as soon as the codec knows
// its size or the buffer is full. End of stream between frames is errc::eof,
// inside one errc::unexpected_eof. Errors of the source (a deadline) leave
// the partial frame buffered, so a later call can go on.
std::span<const char> read_frame(bufio::Reader& in, Codec& codec, std::error_code& ec);
std::span<const char> read_frame(bufio::Reader& in, Codec& codec);  // throws std::system_error

// The per-connection loop of a framed request/response server (Thrift's
// TSimpleServer processor loop, a gRPC-style unary handler, getty's session
// loop): read a frame, handle it, write the reply frame, until an error.
//
//   codec::serve_frames(conn, conn, codec, [](std::span<const char> req, std::string& reply) {
//     reply.assign(req.begin(), req.end());
//   }, codec.max_frame_length());
//
// handle(request, reply) gets an empty `reply` to fill with the reply's
// payload; the request view is valid during the call only. A handler that
// returns bool ends the loop (after its reply is sent) by returning false.
// Replies are flushed when no further complete request is already
// buffered, so pipelined requests get their replies in one write; a reply
// the codec cannot encode ends the loop with its error after the earlier
// replies are sent. Returns
// what ended the loop: errc::eof when the peer closed between frames, {}
// when the handler asked, else the error (frame_too_long, unexpected_eof, a
// reset...). Exceptions from the handler propagate.
template <class Handler>
  requires std::invocable<Handler&, std::span<const char>, std::string&>
std::error_code serve_frames(io::ReaderRef in, io::WriterRef out, Codec& codec, Handler&& handle,
                             std::size_t read_buffer, std::size_t write_buffer = bufio::Writer::kDefaultSize) {
  bufio::Reader r(in, read_buffer);
  bufio::Writer w(out, write_buffer);
  std::string reply, frame;
  std::error_code ec;
  for (;;) {
    std::span<const char> request = read_frame(r, codec, ec);
    if (ec) return ec;
    reply.clear();
    bool go_on = true;
    if constexpr (std::is_convertible_v<std::invoke_result_t<Handler&, std::span<const char>, std::string&>, bool>) {
      go_on = handle(request, reply);
    } else {
      handle(request, reply);
    }
    frame.clear();
    codec.encode(reply, frame, ec);
    if (ec) {
      // The replies to earlier (pipelined) requests are whole frames: send
      // them before giving up, and no part of a frame stays half-written.
      std::error_code flush_ec;
      w.flush(flush_ec);
      return ec;
    }
    w.write(frame, ec);
    if (ec) return ec;
    if (!go_on || codec.decode(r.buffered_view()).status != DecodeStatus::frame) {
      w.flush(ec);
      if (ec || !go_on) return ec;
    }
  }
}

}  // namespace gort::codec
