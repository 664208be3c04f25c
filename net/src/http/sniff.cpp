// sniff.cpp - a Content-Type for a body the handler did not label
// (Go: net/http/sniff.go DetectContentType, reduced to the common cases:
// HTML and XML markers, a few binary signatures, then text vs binary by
// the bytes Go treats as binary).
#include <cstring>
#include <string_view>

#include "gort/http/header.hpp"
#include "server_conn.hpp"

namespace gort::http {

namespace {
bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
// Go: htmlSig: the tag must be followed by a space or '>'.
bool html_tag(std::string_view s, std::string_view tag) {
  if (!starts_with_ci(s, tag) || s.size() == tag.size()) return false;
  char c = s[tag.size()];
  return c == ' ' || c == '>';
}
}  // namespace

std::string_view detect_content_type(std::string_view data) noexcept {
  if (data.size() > 512) data = data.substr(0, 512);  // Go: sniffLen
  std::string_view s = data;
  while (!s.empty() && (s[0] == '\t' || s[0] == '\n' || s[0] == '\x0c' || s[0] == '\r' || s[0] == ' ')) {
    s.remove_prefix(1);
  }
  if (!s.empty() && s[0] == '<') {
    static constexpr std::string_view kHtml[] = {"<!DOCTYPE HTML", "<HTML", "<HEAD", "<SCRIPT", "<IFRAME", "<H1", "<DIV",
                                                 "<FONT", "<TABLE", "<A", "<STYLE", "<TITLE", "<B", "<BODY", "<BR", "<P"};
    for (std::string_view tag : kHtml) {
      if (html_tag(s, tag)) return "text/html; charset=utf-8";
    }
    if (starts_with_ci(s, "<!--")) return "text/html; charset=utf-8";
    if (s.substr(0, 5) == "<?xml") return "text/xml; charset=utf-8";
  }
  if (data.substr(0, 5) == "%PDF-") return "application/pdf";
  if (data.substr(0, 8) == "\x89PNG\r\n\x1a\n") return "image/png";
  if (data.substr(0, 3) == "\xff\xd8\xff") return "image/jpeg";
  if (data.substr(0, 6) == "GIF87a" || data.substr(0, 6) == "GIF89a") return "image/gif";
  if (data.substr(0, 2) == "\x1f\x8b") return "application/x-gzip";
  if (data.substr(0, 4) == "PK\x03\x04") return "application/zip";
  for (unsigned char c : data) {
    // Go: isBinary - control bytes other than \t \n \x0c \r and ESC.
    if (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)) {
      return "application/octet-stream";
    }
  }
  return "text/plain; charset=utf-8";
}

}  // namespace gort::http
