// fuzz_codec - the framing codecs of gort/net/codec.hpp (LineBased,
// DelimiterBased, FixedLength, LengthFieldBased) on arbitrary bytes under
// arbitrary chunking, and their encoders.
//
// Input: [kind][5 configuration bytes][delimiter bytes, DelimiterBased only]
// [n][n chunk sizes][stream...] (fuzz/make_corpus.py writes seeds).
//
// Invariants beyond "no crash":
//   - decode of the whole stream, frame after frame: a frame consumes 1..size
//     bytes, lies inside what it consumes and respects the codec's maximum
//     (frame_too_long otherwise); need_more's `need` is beyond the input;
//     errors are frame_too_long or bad_frame only.
//   - decode looks at nothing past the frame: any prefix shorter than the
//     frame gives need_more (or the same error), any longer one the same
//     frame (the prefix lengths come from the chunk sizes).
//   - read_frame through a bufio::Reader over a source that delivers the
//     stream in the input's chunk sizes yields the same frames and then the
//     matching end: eof after the last frame, unexpected_eof inside one, or
//     decode's error.
//   - encode appends nothing when it fails; whatever it accepts decodes back
//     to the same payload (with the delimiter / header tail the codec keeps),
//     frame after frame; a payload a codec must accept is accepted.
//   - serve_frames echoing each request: the replies decode to a prefix of
//     the requests, all of them when the stream ended cleanly.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gort/net/bufio.hpp"
#include "gort/net/codec.hpp"
#include "support/check.hpp"
#include "support/fuzz_io.hpp"

namespace {

using gort::codec::Codec;
using gort::codec::DecodeStatus;
using gort::codec::Decoded;
using gort::net::errc;
using fuzz::Script;

std::string_view sv(std::span<const char> s) { return {s.data(), s.size()}; }

struct Setup {
  std::unique_ptr<Codec> codec;
  std::size_t max_frame = 0;  // the longest frame decode may accept, header and delimiter included
  // Whether encode must accept `payload` (the codec's documented limits).
  std::function<bool(std::string_view)> must_encode;
  // The frame decode gives back for an encoded payload.
  std::function<std::string(std::string_view payload, std::string_view encoded)> expect;
};

Setup make_codec(Script& in) {
  std::uint8_t kind = in.next(0), a = in.next(0), b = in.next(0), c = in.next(0), d = in.next(0), e = in.next(0);
  Setup s;
  switch (kind % 4) {
    case 0: {
      std::size_t max = a;
      bool strip = b & 1;
      s.codec = std::make_unique<gort::codec::LineBased>(max, strip);
      s.max_frame = max + 2;
      s.must_encode = [max](std::string_view p) {
        return p.size() <= max && p.find('\n') == std::string_view::npos && !p.ends_with('\r');
      };
      s.expect = [strip](std::string_view p, std::string_view enc) { return std::string(strip ? p : enc); };
      break;
    }
    case 1: {
      std::string delim;
      for (int i = 0, n = 1 + b % 4; i < n; i++) delim.push_back(static_cast<char>(in.next('\n')));
      std::size_t max = a;
      bool strip = c & 1;
      s.max_frame = max + delim.size();
      s.codec = std::make_unique<gort::codec::DelimiterBased>(delim, max, strip);
      s.must_encode = [max, delim](std::string_view p) {
        return p.size() <= max && (std::string(p) + delim).find(delim) == p.size();
      };
      s.expect = [strip](std::string_view p, std::string_view enc) { return std::string(strip ? p : enc); };
      break;
    }
    case 2: {
      std::size_t n = 1 + a;
      s.codec = std::make_unique<gort::codec::FixedLength>(n);
      s.max_frame = n;
      s.must_encode = [n](std::string_view p) { return p.size() == n; };
      s.expect = [](std::string_view p, std::string_view) { return std::string(p); };
      break;
    }
    default: {
      static constexpr std::size_t kFields[] = {1, 2, 3, 4, 8};
      gort::codec::LengthFieldOptions o;
      o.length_field_length = kFields[b % 5];
      o.byte_order = (b & 0x80) != 0 ? std::endian::little : std::endian::big;
      o.length_field_offset = c % 8;
      o.length_adjustment = static_cast<std::int8_t>(d);
      std::size_t header = o.length_field_offset + o.length_field_length;
      o.initial_bytes_to_strip = e % (header + 4);
      o.max_frame_length = (a & 0x80) != 0 ? header + (a & 0x7f) * 8 : (a & 0x7f);  // may be invalid
      try {
        s.codec = std::make_unique<gort::codec::LengthFieldBased>(o);
      } catch (const std::invalid_argument&) {
        FUZZ_CHECK(o.max_frame_length == 0 || header > o.max_frame_length);  // the only bad settings we make
        return {};
      }
      s.max_frame = o.max_frame_length;
      std::size_t strip = o.initial_bytes_to_strip;
      s.must_encode = [o, header, strip](std::string_view p) {
        std::int64_t raw = static_cast<std::int64_t>(p.size()) - o.length_adjustment;
        bool fits = o.length_field_length == 8 || (raw >= 0 && static_cast<std::uint64_t>(raw) >> (8 * o.length_field_length) == 0);
        return header + p.size() <= o.max_frame_length && raw >= 0 && fits && strip <= header + p.size();
      };
      s.expect = [strip](std::string_view, std::string_view enc) { return std::string(enc.substr(strip)); };
      break;
    }
  }
  return s;
}

struct Result {
  std::vector<std::string> frames;
  Decoded last;             // need_more or error
  std::size_t rest = 0;     // bytes after the last frame
};

Result decode_all(Codec& codec, std::string_view stream, std::size_t max_frame, Script prefixes) {
  Result res;
  std::size_t off = 0;
  for (;;) {
    std::span<const char> in(stream.data() + off, stream.size() - off);
    Decoded d = codec.decode(in);
    if (d.status == DecodeStatus::frame) {
      FUZZ_CHECK(d.consumed >= 1 && d.consumed <= in.size() && d.consumed <= max_frame);
      FUZZ_CHECK(d.frame.data() >= in.data() && d.frame.data() + d.frame.size() <= in.data() + d.consumed);
      FUZZ_CHECK(!d.ec);
    } else if (d.status == DecodeStatus::need_more) {
      FUZZ_CHECK(d.consumed == 0 && d.frame.empty() && !d.ec);
      FUZZ_CHECK(d.need == 0 || (d.need > in.size() && d.need <= max_frame));
    } else {
      FUZZ_CHECK(d.ec == errc::frame_too_long || d.ec == errc::bad_frame);
    }
    // The same answer from a prefix, as far as the prefix allows.
    for (int i = 0; i < 2 && !prefixes.empty(); i++) {
      std::size_t len = (prefixes.next(0) | std::size_t{prefixes.next(0)} << 8) % (in.size() + 1);
      Decoded p = codec.decode(in.first(len));
      bool short_of_frame = d.status == DecodeStatus::frame ? len < d.consumed : true;
      if (short_of_frame) {
        FUZZ_CHECK(p.status == DecodeStatus::need_more ||
                   (d.status == DecodeStatus::error && p.status == DecodeStatus::error && p.ec == d.ec));
      } else {
        FUZZ_CHECK(p.status == DecodeStatus::frame && p.consumed == d.consumed && sv(p.frame) == sv(d.frame) &&
                   p.frame.data() == d.frame.data());
      }
    }
    if (d.status != DecodeStatus::frame) {
      res.last = d;
      res.rest = in.size();
      return res;
    }
    res.frames.emplace_back(sv(d.frame));
    off += d.consumed;
  }
}

void check_read_frame(Codec& codec, const Setup& s, const std::string& stream, Script chunks, const Result& want) {
  fuzz::Source src{.data = stream, .chunks = chunks};
  gort::bufio::Reader r(src, std::max<std::size_t>(s.max_frame, gort::bufio::Reader::kMinSize));
  std::error_code ec;
  for (const std::string& f : want.frames) {
    auto got = gort::codec::read_frame(r, codec, ec);
    FUZZ_CHECK(!ec || ec == errc::no_progress);
    if (ec) return;  // a script of empty reads; nothing more to compare
    FUZZ_CHECK(sv(got) == f);
  }
  auto got = gort::codec::read_frame(r, codec, ec);
  FUZZ_CHECK(got.empty() && ec);
  if (ec == errc::no_progress) return;
  if (want.last.status == DecodeStatus::error) {
    FUZZ_CHECK(ec == want.last.ec);
  } else {
    FUZZ_CHECK(ec == (want.rest == 0 ? errc::eof : errc::unexpected_eof));
  }
}

void check_round_trip(const Setup& s, std::string_view stream, Script lengths) {
  std::string wire;
  std::vector<std::string> want;
  std::size_t off = 0;
  while (off < stream.size() && !lengths.empty()) {
    std::size_t n = std::min<std::size_t>(lengths.next(0) % (s.max_frame + 3), stream.size() - off);
    std::string_view p = stream.substr(off, n);
    off += n;
    std::string enc = "prefix";
    std::error_code ec;
    s.codec->encode(std::span<const char>(p.data(), p.size()), enc, ec);
    if (ec) {
      FUZZ_CHECK(enc == "prefix");
      FUZZ_CHECK(ec == errc::frame_too_long || ec == errc::bad_frame);
      FUZZ_CHECK(!s.must_encode(p));
      continue;
    }
    FUZZ_CHECK(enc.starts_with("prefix"));
    std::string_view frame = std::string_view(enc).substr(6);
    want.push_back(s.expect(p, frame));
    wire += frame;
  }
  Result got = decode_all(*s.codec, wire, s.max_frame, {});
  FUZZ_CHECK(got.frames == want);
  FUZZ_CHECK(got.rest == 0 && got.last.status == DecodeStatus::need_more);
}

void check_serve(const Setup& s, const std::string& stream, Script chunks) {
  fuzz::Source src{.data = stream, .chunks = chunks};
  fuzz::Sink sink;
  std::vector<std::string> handled;
  std::error_code ec = gort::codec::serve_frames(
      src, sink, *s.codec,
      [&](std::span<const char> req, std::string& reply) {
        handled.emplace_back(sv(req));
        reply.assign(req.begin(), req.end());
      },
      std::max<std::size_t>(s.max_frame, gort::bufio::Reader::kMinSize), 64);
  FUZZ_CHECK(ec);  // the loop ends only with the stream or an error
  Result replies = decode_all(*s.codec, sink.out, s.max_frame, {});
  FUZZ_CHECK(replies.frames.size() <= handled.size() && replies.rest == 0);
  if (ec == errc::eof) FUZZ_CHECK(replies.frames.size() == handled.size());
  for (std::size_t i = 0; i < replies.frames.size(); i++) {
    // An echoed request decodes as itself when the codec strips all it adds.
    std::string enc;
    std::error_code e;
    s.codec->encode(std::span<const char>(handled[i].data(), handled[i].size()), enc, e);
    FUZZ_CHECK(!e && replies.frames[i] == s.expect(handled[i], enc));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script in{data, size};
  Setup s = make_codec(in);
  if (!s.codec) return 0;
  std::size_t nchunks = std::min<std::size_t>(in.next(0), in.n);
  Script chunks{in.p, nchunks};
  std::string stream(reinterpret_cast<const char*>(in.p + nchunks), in.n - nchunks);

  Result whole = decode_all(*s.codec, stream, s.max_frame, chunks);
  check_read_frame(*s.codec, s, stream, chunks, whole);
  check_round_trip(s, stream, chunks);
  check_serve(s, stream, chunks);
  return 0;
}
