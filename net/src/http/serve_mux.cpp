// serve_mux.cpp - see serve_mux.hpp (Go 1.21: net/http ServeMux.Handle,
// ServeMux.Handler, match, redirectToPathSlash, cleanPath; Error, NotFound,
// Redirect).
#include "gort/http/serve_mux.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "gort/http/status.hpp"
#include "gort/rw_mutex.hpp"

namespace gort::http {

// Invariants (under mu): `exact` holds every pattern; `subtrees` holds the
// patterns ending in '/', longest first (Go: ServeMux.es), so the first
// prefix match is the longest; `hosts` is set once a pattern names a host.
struct ServeMux::Table {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  mutable gort::RWMutex mu;  // readers: every request; writer: handle()
  std::unordered_map<std::string, Handler, Hash, std::equal_to<>> exact;
  struct Entry {
    std::string pattern;
    const Handler* h;
  };
  std::vector<Entry> subtrees;
  bool hosts = false;

  // Go: ServeMux.match.
  const Handler* match(std::string_view path, std::string* pattern) const {
    if (auto it = exact.find(path); it != exact.end()) {
      if (pattern) *pattern = it->first;
      return &it->second;
    }
    for (const Entry& e : subtrees) {
      if (path.substr(0, e.pattern.size()) == e.pattern) {
        if (pattern) *pattern = e.pattern;
        return e.h;
      }
    }
    return nullptr;
  }
  // Go: ServeMux.handler (host patterns first).
  const Handler* find(std::string_view host, std::string_view path, std::string* pattern) const {
    const Handler* h = nullptr;
    if (hosts) h = match(std::string(host) + std::string(path), pattern);
    if (h == nullptr) h = match(path, pattern);
    return h;
  }
  // Go: shouldRedirectRLocked - path is not registered but path + "/" is.
  bool should_redirect(std::string_view host, std::string_view path) const {
    if (path.empty() || exact.find(path) != exact.end()) return false;  // the common case: no allocation
    if (hosts && exact.find(std::string(host) + std::string(path)) != exact.end()) return false;
    if (path.back() == '/') return false;
    std::string slash = std::string(path) + "/";
    if (exact.find(slash) != exact.end()) return true;
    return hosts && exact.find(std::string(host) + slash) != exact.end();
  }
};

namespace {

std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    std::size_t end = host.find(']');
    return end == std::string_view::npos ? host : host.substr(0, end + 1);
  }
  std::size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// Percent-encodes what may not appear raw in a path (Go: url.URL.EscapedPath).
std::string escape_path(std::string_view p) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : p) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
    if (safe) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string with_query(std::string_view path, const Request& r) {
  std::string u = escape_path(path);
  if (!r.raw_query().empty()) {
    u += '?';
    u += r.raw_query();
  }
  return u;
}

// Go: path.Clean.
std::string clean(std::string_view p) {
  if (p.empty()) return ".";
  bool rooted = p.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view seg = p.substr(i, j - i);
    i = j + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(seg);
      }
      continue;
    }
    parts.push_back(seg);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); k++) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

}  // namespace

namespace {
// Whether clean_path(p) == p, without allocating (the common case).
bool is_clean(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t i = 0; i < p.size(); i++) {
    if (p[i] != '/') continue;
    std::string_view rest = p.substr(i + 1);
    if (rest.substr(0, 1) == "/" || rest == "." || rest == ".." || rest.substr(0, 2) == "./" ||
        rest.substr(0, 3) == "../") {
      return false;
    }
  }
  return true;
}
}  // namespace

std::string clean_path(std::string_view p) {
  if (is_clean(p)) return std::string(p);
  if (p.empty()) return "/";
  std::string in = p.front() == '/' ? std::string(p) : "/" + std::string(p);
  std::string np = clean(in);
  // Go: path.Clean drops a trailing slash; put it back.
  if (in.back() == '/' && np != "/") np += '/';
  return np;
}

ServeMux::ServeMux() : table_(std::make_shared<Table>()) {}

void ServeMux::handle(std::string pattern, Handler handler) {
  if (pattern.empty()) throw std::invalid_argument("http: invalid pattern");
  if (!handler) throw std::invalid_argument("http: nil handler");
  Table& t = *table_;
  std::lock_guard lk(t.mu);
  if (t.exact.count(pattern) != 0) throw std::invalid_argument("http: multiple registrations for " + pattern);
  auto [it, inserted] = t.exact.emplace(pattern, std::move(handler));
  if (pattern.back() == '/') {
    Table::Entry e{pattern, &it->second};
    auto pos = std::find_if(t.subtrees.begin(), t.subtrees.end(),
                            [&](const Table::Entry& x) { return x.pattern.size() < pattern.size(); });
    t.subtrees.insert(pos, e);
  }
  if (pattern.front() != '/') t.hosts = true;
}

std::string ServeMux::match(std::string_view host, std::string_view path) const {
  std::shared_lock lk(table_->mu);
  std::string pattern;
  table_->find(strip_port(host), path, &pattern);
  return pattern;
}

void ServeMux::operator()(ResponseWriter& w, Request& r) const {
  const Table& t = *table_;
  std::string_view host = strip_port(r.host());
  const Handler* h = nullptr;
  std::string location;
  {
    std::shared_lock lk(t.mu);
    if (r.method() == "CONNECT") {
      // Go: CONNECT requests are not canonicalised.
      if (t.should_redirect(r.host(), r.path())) {
        location = with_query(std::string(r.path()) + "/", r);
      } else {
        h = t.find(r.host(), r.path(), nullptr);
      }
    } else if (r.path() == "*") {
      h = nullptr;  // "OPTIONS *" matches no pattern: 400 below, as Go
    } else if (is_clean(r.path())) {
      if (t.should_redirect(host, r.path())) {
        location = with_query(std::string(r.path()) + "/", r);
      } else {
        h = t.find(host, r.path(), nullptr);
      }
    } else {
      std::string path = clean_path(r.path());
      location = with_query(t.should_redirect(host, path) ? path + "/" : path, r);
    }
  }
  if (!location.empty()) return redirect(w, r, location, 301);
  if (r.path() == "*") {
    if (r.version() == 11) w.header().set("Connection", "close");
    return error(w, "", 400);
  }
  if (h == nullptr) return not_found(w, r);
  // Handlers are never removed, so h stays valid without the lock (and a
  // slow handler does not hold registrations up).
  (*h)(w, r);
}

void error(ResponseWriter& w, std::string_view text, int status) {
  w.header().del("Content-Length");
  w.header().set("Content-Type", "text/plain; charset=utf-8");
  w.header().set("X-Content-Type-Options", "nosniff");
  w.write_header(status);
  std::string body(text);
  body += '\n';
  w.write(body);
}

void not_found(ResponseWriter& w, Request&) { error(w, "404 page not found", 404); }

void redirect(ResponseWriter& w, Request& r, std::string_view url, int status) {
  // Go: hexEscapeNonASCII. Bytes outside printable ASCII (CR and LF among
  // them) are percent-encoded, so a URL taken from the request cannot add
  // header fields or a second response.
  std::string location;
  location.reserve(url.size());
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      location += '%';
      location += kHex[c >> 4];
      location += kHex[c & 15];
    } else {
      location += ch;
    }
  }
  url = location;
  w.header().set("Location", url);
  bool get_or_head = r.method() == "GET" || r.method() == "HEAD";
  if (get_or_head) w.header().set("Content-Type", "text/html; charset=utf-8");
  w.write_header(status);
  // Go: a short HTML body for GET (browsers that do not follow redirects).
  if (get_or_head && r.method() == "GET") {
    std::string body = "<a href=\"";
    for (char c : url) {
      switch (c) {
        case '<': body += "&lt;"; break;
        case '>': body += "&gt;"; break;
        case '&': body += "&amp;"; break;
        case '"': body += "&#34;"; break;
        case '\'': body += "&#39;"; break;
        default: body += c;
      }
    }
    body += "\">";
    body += status_text(status);
    body += "</a>.\n\n";
    w.write(body);
  }
}

}  // namespace gort::http
