// date.cpp - the Date header, formatted once per second per thread
// (Go: appendTime with a per-response time.Now; caching is what fast
// servers do, the value changes once a second anyway).
#include <time.h>

#include <cstring>
#include <string>

#include "server_conn.hpp"

namespace gort::http {

namespace {
struct DateCache {
  time_t sec = -1;
  char text[48];
  std::size_t len = 0;
};

void format(DateCache& c, time_t now) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&now, &tm);
  int n = std::snprintf(c.text, sizeof c.text, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", kDays[tm.tm_wday],
                        tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  c.len = n > 0 ? static_cast<std::size_t>(n) : 0;
  c.sec = now;
}
}  // namespace

// Not inlined, and nothing in it can switch fibers: the thread_local is
// reached afresh on every call (a fiber may move between threads).
[[gnu::noinline]] void append_date_header(std::string& out) {
  static thread_local DateCache cache;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cache.sec) format(cache, ts.tv_sec);
  out.append(cache.text, cache.len);
}

}  // namespace gort::http
