// codec.cpp - see codec.hpp. netty: codec/src/main/java/io/netty/handler/codec/
// (LineBasedFrameDecoder, DelimiterBasedFrameDecoder, FixedLengthFrameDecoder,
// LengthFieldBasedFrameDecoder, LengthFieldPrepender).
#include "gort/net/codec.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace gort::codec {

using net::errc;

namespace {

Decoded fail(errc e) noexcept { return {DecodeStatus::error, 0, {}, make_error_code(e), 0}; }
Decoded need_more(std::size_t need = 0) noexcept { return {DecodeStatus::need_more, 0, {}, {}, need}; }
Decoded frame(std::span<const char> payload, std::size_t consumed) noexcept {
  return {DecodeStatus::frame, consumed, payload, {}, 0};
}

std::size_t add_sat(std::size_t a, std::size_t b) noexcept {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max() : a + b;
}

// Lengths fit comfortably in int64 arithmetic: a length field's value above
// kMaxRaw is too long whatever the adjustment, and the configuration is
// bounded so that no sum overflows.
constexpr std::int64_t kMaxConfig = std::numeric_limits<std::int64_t>::max() / 4;
constexpr std::uint64_t kMaxRaw = std::numeric_limits<std::int64_t>::max() / 2;

}  // namespace

Codec::~Codec() = default;

void Codec::encode(std::span<const char> payload, std::string& out) {
  std::error_code ec;
  encode(payload, out, ec);
  if (ec) io::throw_error(ec);
}

// ---------------------------------------------------------------- LineBased

// netty: LineBasedFrameDecoder.decode (failFast) and findEndOfLine.
Decoded LineBased::decode(std::span<const char> in) {
  // A valid line ends within max_len + 2 bytes ("\r\n"): look no further.
  std::size_t scan = std::min(in.size(), add_sat(max_len_, 2));
  const char* p = in.data();
  const char* q = scan == 0 ? nullptr : static_cast<const char*>(std::memchr(p, '\n', scan));
  if (q != nullptr) {
    std::size_t eol = static_cast<std::size_t>(q - p);
    std::size_t len = eol > 0 && p[eol - 1] == '\r' ? eol - 1 : eol;
    if (len > max_len_) return fail(errc::frame_too_long);
    return frame(strip_ ? in.first(len) : in.first(eol + 1), eol + 1);
  }
  // No newline yet: too long once the bytes without one exceed max_len, not
  // counting a last '\r' that a '\n' may follow.
  std::size_t len = scan > 0 && p[scan - 1] == '\r' ? scan - 1 : scan;
  if (len > max_len_) return fail(errc::frame_too_long);
  return need_more();
}

void LineBased::encode(std::span<const char> payload, std::string& out, std::error_code& ec) {
  ec.clear();
  if (payload.size() > max_len_) {
    ec = errc::frame_too_long;
    return;
  }
  // A '\n' would end the line early; a last '\r' would read as part of a
  // "\r\n" and be stripped by the decoder: neither decodes as itself.
  if (!payload.empty() && (std::memchr(payload.data(), '\n', payload.size()) != nullptr || payload.back() == '\r')) {
    ec = errc::bad_frame;
    return;
  }
  out.append(payload.data(), payload.size());
  out.push_back('\n');
}

// ---------------------------------------------------------------- DelimiterBased

DelimiterBased::DelimiterBased(std::string delimiter, std::size_t max_len, bool strip)
    : delim_(std::move(delimiter)), max_len_(max_len), strip_(strip) {
  if (delim_.empty()) throw std::invalid_argument("gort::codec::DelimiterBased: empty delimiter");
}

// netty: DelimiterBasedFrameDecoder.decode (failFast, one delimiter).
Decoded DelimiterBased::decode(std::span<const char> in) {
  // A valid frame's delimiter ends within max_len + delimiter bytes.
  std::size_t limit = add_sat(max_len_, delim_.size());
  std::string_view v(in.data(), std::min(in.size(), limit));
  std::size_t pos = v.find(delim_);
  if (pos != std::string_view::npos) {
    if (pos > max_len_) return fail(errc::frame_too_long);
    std::size_t consumed = pos + delim_.size();
    return frame(strip_ ? in.first(pos) : in.first(consumed), consumed);
  }
  // No delimiter in the first `limit` bytes: it can only start after max_len.
  if (in.size() >= limit) return fail(errc::frame_too_long);
  return need_more();
}

void DelimiterBased::encode(std::span<const char> payload, std::string& out, std::error_code& ec) {
  ec.clear();
  if (payload.size() > max_len_) {
    ec = errc::frame_too_long;
    return;
  }
  // The decoder splits at the first delimiter: it must be the one we append
  // (the payload's tail and the delimiter's head may form an earlier one).
  std::size_t start = out.size();
  out.append(payload.data(), payload.size());
  out += delim_;
  if (std::string_view(out).substr(start).find(delim_) != payload.size()) {
    out.resize(start);
    ec = errc::bad_frame;
  }
}

// ---------------------------------------------------------------- FixedLength

FixedLength::FixedLength(std::size_t n) : n_(n) {
  if (n == 0) throw std::invalid_argument("gort::codec::FixedLength: zero length");
}

// netty: FixedLengthFrameDecoder.decode.
Decoded FixedLength::decode(std::span<const char> in) {
  if (in.size() < n_) return need_more(n_);
  return frame(in.first(n_), n_);
}

void FixedLength::encode(std::span<const char> payload, std::string& out, std::error_code& ec) {
  ec.clear();
  if (payload.size() != n_) {
    ec = errc::bad_frame;
    return;
  }
  out.append(payload.data(), payload.size());
}

// ---------------------------------------------------------------- LengthFieldBased

LengthFieldOptions length_prefixed(std::size_t max_payload, std::size_t field_length, std::endian order) noexcept {
  return {.max_frame_length = add_sat(max_payload, field_length),
          .length_field_offset = 0,
          .length_field_length = field_length,
          .length_adjustment = 0,
          .initial_bytes_to_strip = field_length,
          .byte_order = order};
}

LengthFieldBased::LengthFieldBased(const LengthFieldOptions& options)
    : o_(options), end_offset_(options.length_field_offset + options.length_field_length) {
  switch (o_.length_field_length) {
    case 1: case 2: case 3: case 4: case 8: break;
    default: throw std::invalid_argument("gort::codec::LengthFieldBased: length_field_length must be 1, 2, 3, 4 or 8");
  }
  auto max = static_cast<std::uint64_t>(kMaxConfig);
  if (o_.max_frame_length == 0 || o_.max_frame_length > max) {
    throw std::invalid_argument("gort::codec::LengthFieldBased: max_frame_length out of range");
  }
  if (o_.length_field_offset > o_.max_frame_length || end_offset_ > o_.max_frame_length) {
    throw std::invalid_argument("gort::codec::LengthFieldBased: the length field does not fit max_frame_length");
  }
  if (o_.length_adjustment > kMaxConfig || o_.length_adjustment < -kMaxConfig ||
      o_.initial_bytes_to_strip > max) {
    throw std::invalid_argument("gort::codec::LengthFieldBased: length_adjustment or initial_bytes_to_strip out of range");
  }
}

// netty: LengthFieldBasedFrameDecoder.decode, with failFast: every check
// that the header allows is made before the body arrives.
Decoded LengthFieldBased::decode(std::span<const char> in) {
  if (in.size() < end_offset_) return need_more();  // header incomplete
  const auto* f = reinterpret_cast<const unsigned char*>(in.data() + o_.length_field_offset);
  std::size_t len = o_.length_field_length;
  std::uint64_t raw = 0;
  for (std::size_t i = 0; i < len; i++) {
    std::size_t k = o_.byte_order == std::endian::big ? i : len - 1 - i;
    raw = raw << 8 | f[k];
  }
  if (raw > kMaxRaw) return fail(errc::frame_too_long);
  std::int64_t total = static_cast<std::int64_t>(raw) + o_.length_adjustment + static_cast<std::int64_t>(end_offset_);
  // netty: "Adjusted frame length is less than lengthFieldEndOffset".
  if (total < static_cast<std::int64_t>(end_offset_)) return fail(errc::bad_frame);
  auto size = static_cast<std::size_t>(total);
  if (size > o_.max_frame_length) return fail(errc::frame_too_long);
  // netty: "Adjusted frame length is less than initialBytesToStrip" (netty
  // finds it once the body is in; the header is enough).
  if (o_.initial_bytes_to_strip > size) return fail(errc::bad_frame);
  if (in.size() < size) return need_more(size);  // header read, body incomplete
  return frame(in.subspan(o_.initial_bytes_to_strip, size - o_.initial_bytes_to_strip), size);
}

// netty: LengthFieldPrepender (with the decoder's offset and adjustment).
void LengthFieldBased::encode(std::span<const char> payload, std::string& out, std::error_code& ec) {
  ec.clear();
  if (payload.size() > o_.max_frame_length - end_offset_) {
    ec = errc::frame_too_long;
    return;
  }
  std::size_t size = end_offset_ + payload.size();
  std::int64_t raw = static_cast<std::int64_t>(payload.size()) - o_.length_adjustment;
  std::size_t len = o_.length_field_length;
  if (raw < 0) {
    ec = errc::bad_frame;
    return;
  }
  if (len < 8 && static_cast<std::uint64_t>(raw) >> (8 * len) != 0) {
    ec = errc::frame_too_long;  // the field cannot hold the length
    return;
  }
  if (o_.initial_bytes_to_strip > size) {
    ec = errc::bad_frame;
    return;
  }
  out.append(o_.length_field_offset, '\0');
  auto v = static_cast<std::uint64_t>(raw);
  for (std::size_t i = 0; i < len; i++) {
    std::size_t shift = o_.byte_order == std::endian::big ? 8 * (len - 1 - i) : 8 * i;
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  out.append(payload.data(), payload.size());
}

// ---------------------------------------------------------------- read_frame

std::span<const char> read_frame(bufio::Reader& in, Codec& codec, std::error_code& ec) {
  ec.clear();
  for (;;) {
    std::span<const char> view = in.buffered_view();
    Decoded d = codec.decode(view);
    if (d.status == DecodeStatus::frame) {
      // Consuming moves no bytes: the frame stays where it is until the
      // next fill.
      in.consume(d.consumed);
      return d.frame;
    }
    if (d.status == DecodeStatus::error) {
      ec = d.ec ? d.ec : make_error_code(errc::bad_frame);
      return {};
    }
    if (view.size() >= in.size() || d.need > in.size()) {
      ec = errc::frame_too_long;  // cannot fit the reader's buffer
      return {};
    }
    std::error_code e;
    in.fill(e);
    if (e) {
      ec = e == errc::eof && !view.empty() ? make_error_code(errc::unexpected_eof) : e;
      return {};
    }
  }
}

std::span<const char> read_frame(bufio::Reader& in, Codec& codec) {
  std::error_code ec;
  auto f = read_frame(in, codec, ec);
  if (ec) io::throw_error(ec);
  return f;
}

}  // namespace gort::codec
