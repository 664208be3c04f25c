// fuzz_url - percent-decoding, gort::http::unescape (gort/http/request.hpp),
// as the server applies it to paths and query components.
//
// Input: [flags][text]. flags bit 0: plus_is_space (query components).
//
// Invariants beyond "no crash":
//   - it fails exactly when some '%' is not followed by two hex digits (a
//     reference decoder written here decides), and then nothing else counts;
//   - on success the output is the reference decoding: each "%XY" one byte,
//     '+' a space only with plus_is_space, every other byte itself (so the
//     output is the input's length minus two bytes per escape);
//   - re-encoding the output (every byte but unreserved ones as "%XY")
//     decodes back to the output, and an input already in that form
//     (upper-case hex) re-encodes to the same bytes;
//   - hex digits are case-insensitive: the input with its escapes'
//     digits in the other case decodes to the same bytes;
//   - with plus_is_space, decoding equals decoding (without it) the input
//     whose '+' are written "%20".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gort/http/request.hpp"
#include "support/check.hpp"

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> reference(std::string_view in, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i++) {
    if (in[i] == '%') {
      if (in.size() - i < 3 || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(hexval(in[i + 1]) * 16 + hexval(in[i + 2])));
      i += 2;
    } else {
      out.push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (unreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out += {'%', kHex[b >> 4], kHex[b & 15]};
    }
  }
  return out;
}

std::string flip_hex_case(std::string_view in) {
  std::string out(in);
  for (std::size_t i = 0; i + 2 < out.size(); i++) {
    if (out[i] != '%') continue;
    for (std::size_t j = i + 1; j <= i + 2; j++) {
      char& c = out[j];
      if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
      else if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    i += 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bool plus = (data[0] & 1) != 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string out = "stale";
  bool ok = gort::http::unescape(in, out, plus);
  std::optional<std::string> want = reference(in, plus);
  FUZZ_CHECK(ok == want.has_value());
  if (!ok) return 0;
  FUZZ_CHECK(out == *want);

  std::string again;
  std::string enc = escape(out);
  FUZZ_CHECK(gort::http::unescape(enc, again, false) && again == out);
  FUZZ_CHECK(gort::http::unescape(enc, again, true) && again == out);  // escape() leaves no '+'
  if (in == enc) FUZZ_CHECK(escape(again) == in);

  FUZZ_CHECK(gort::http::unescape(flip_hex_case(in), again, plus) && again == out);

  if (plus) {
    std::string spaced;
    for (char c : in) spaced += c == '+' ? std::string_view("%20") : std::string_view(&c, 1);
    FUZZ_CHECK(gort::http::unescape(spaced, again, false) && again == out);
  }
  return 0;
}
