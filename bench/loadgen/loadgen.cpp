// loadgen - the echo benchmark's load generator (bench/echo_run).
//
// One thread, raw epoll (edge-triggered), non-blocking sockets; no gort.
//
//   loadgen --addr 127.0.0.1:7000 --conns 1000 [--warmup 1s] [--duration 5s]
//           [--size 64] [--server-pid PID] [--connect-window 1000]
//           [--connect-timeout 30s] [--stall-timeout 2s] [--sources N]
//   loadgen --addr 127.0.0.1:7000 --idle 10000 [--hold stdin|10s] [--sources N]
//
// Load mode: N connections each run a closed-loop ping-pong: send SIZE
// bytes, wait until all SIZE bytes came back (compared byte for byte with
// what was sent; every message has fresh contents), record the round trip
// (from just before send() to just after the recv() that completed the
// echo) in a log-linear histogram, send the next. After all N connections
// are up, the warm-up runs, then the measured window: only messages that
// complete inside the window are counted and recorded. With --server-pid,
// the server's utime+stime (/proc/PID/stat) is read at the window's two
// edges, so server_cpu_s covers exactly the measured window. Prints one
// JSON line on stdout.
//
// Idle mode: opens N connections, sends SIZE bytes on each and waits for
// the echo, prints {"event":"ready",...}, then holds them open, watching for
// errors, until --hold elapses or (default) stdin is closed; then prints the
// final JSON line.
//
// Connection setup: non-blocking connect()s with at most --connect-window
// connections in flight (not yet connected, or connected but the first
// echo not yet back). A connection's first echo proves the server accepted
// it, so the server's accept queue never holds more than the window (the
// listen backlog is somaxconn = 4096; an overflowing accept queue drops
// SYNs and costs a 1 s retransmit). ECONNREFUSED / EAGAIN / ETIMEDOUT on
// connect are retried after 20 ms until --connect-timeout.
//
// Source addresses: one client address has about 28,000 ephemeral ports
// (net.ipv4.ip_local_port_range) for one server ip:port, so towards a
// loopback server the connections are spread round-robin over N source
// addresses, 127.0.0.2 ... 127.0.0.(N+1), each socket bound before connect
// with IP_BIND_ADDRESS_NO_PORT (the port is still chosen by connect, per
// 4-tuple). --sources 0 binds nothing (the kernel picks 127.0.0.1); the
// default is auto: enough addresses that none uses more than half its
// ephemeral range (1 up to ~14,000 connections, 2 up to ~28,000), or 0 for
// a server that is not on 127.0.0.0/8. The JSON reports "sources".
//
// Errors are counted by kind in the JSON: "wrong_bytes" (an echo that
// differs from what was sent, is longer, or arrives unasked), "resets"
// (send/recv failed: ECONNRESET, EPIPE, ...), "closed" (EOF: the server
// closed a connection, possibly after a short echo), "stalled" (load mode:
// a message outstanding longer than --stall-timeout at the end); "errors"
// is the sum of the first three.
//
// Exit status: 0 if all went well; 1 on any error (wrong bytes, a closed or
// reset connection, a connection stalled longer than --stall-timeout at the
// end, setup failure), with a message on stderr; 2 on bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("loadgen: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(1);
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "loadgen: %s\n"
               "usage: loadgen --addr host:port (--conns N [--warmup 1s] [--duration 5s] | --idle N [--hold stdin|DUR])\n"
               "               [--size 64] [--server-pid PID] [--connect-window 1000] [--connect-timeout 30s]\n"
               "               [--stall-timeout 2s] [--sources N|auto]\n",
               msg);
  std::exit(2);
}

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// "5", "5s", "500ms", "2m", "100us" -> nanoseconds.
int64_t parse_duration(const char* s) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || v < 0) usage("bad duration");
  std::string unit(end);
  double mul = 1e9;
  if (unit.empty() || unit == "s") mul = 1e9;
  else if (unit == "ms") mul = 1e6;
  else if (unit == "us") mul = 1e3;
  else if (unit == "m") mul = 60e9;
  else usage("bad duration unit (s, ms, us, m)");
  return int64_t(v * mul);
}

long parse_int(const char* s, long lo, long hi, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != 0 || v < lo || v > hi) {
    std::string m = std::string("bad ") + what;
    usage(m.c_str());
  }
  return v;
}

// Log-linear histogram of nanoseconds (HdrHistogram's layout with 64
// sub-buckets per power of two): values below 128 are exact, above that a
// bucket spans 1/64 of its power of two, so a reported percentile (the
// bucket's midpoint) is within 0.8 % of the true sample.
class Histogram {
 public:
  static constexpr int kSub = 64;
  static constexpr int kBuckets = 2 * kSub + 56 * kSub;  // up to 2^63 ns

  void record(int64_t v) {
    if (v < 0) v = 0;
    counts_[index(uint64_t(v))]++;
    n_++;
    sum_ += double(v);
    if (v > max_) max_ = v;
  }
  void reset() { *this = Histogram(); }
  uint64_t count() const { return n_; }
  double mean() const { return n_ ? sum_ / double(n_) : 0; }
  int64_t max() const { return max_; }

  // The value at quantile q (0..1): midpoint of the bucket holding the
  // ceil(q*n)-th smallest sample, capped at the exact maximum.
  double quantile(double q) const {
    if (n_ == 0) return 0;
    uint64_t rank = uint64_t(std::ceil(q * double(n_)));
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; i++) {
      seen += counts_[i];
      if (seen >= rank) {
        double lo = double(lower(i)), hi = double(lower(i + 1));
        double mid = i < 2 * kSub ? lo : (lo + hi) / 2;
        return std::min(mid, double(max_));
      }
    }
    return double(max_);
  }

 private:
  static int index(uint64_t v) {
    if (v < 2 * kSub) return int(v);
    int msb = 63 - __builtin_clzll(v);  // >= 7
    int shift = msb - 6;                // v >> shift in [64, 127]
    return shift * kSub + int(v >> shift);
  }
  static uint64_t lower(int i) {
    if (i < 2 * kSub) return uint64_t(i);
    int shift = i / kSub - 1;
    uint64_t m = uint64_t(i - shift * kSub);
    return m << shift;
  }

  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets + 1, 0);
  uint64_t n_ = 0;
  double sum_ = 0;
  int64_t max_ = 0;
};

// Every message gets fresh contents (a function of connection, sequence
// number and position), so stale, reordered, truncated or foreign bytes
// are all caught.
inline uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void fill_message(unsigned char* p, int size, uint32_t conn, uint64_t seq) {
  uint64_t base = (uint64_t(conn) << 40) ^ seq;
  for (int off = 0; off < size; off += 8) {
    uint64_t w = splitmix(base * 131 + uint64_t(off));
    int n = std::min(8, size - off);
    std::memcpy(p + off, &w, size_t(n));
  }
}

enum class State : uint8_t { kNew, kConnecting, kHandshake, kReady, kRunning, kDead };

struct Conn {
  int fd = -1;
  State state = State::kNew;
  bool want_write = false;  // send() hit EAGAIN: finish on EPOLLOUT
  int sent = 0;             // bytes of the current message written
  int got = 0;              // bytes of its echo received and verified
  uint64_t seq = 0;         // number of the current message
  int64_t t_send = 0;       // when the current message's first send() started
  uint64_t window_msgs = 0;
};

struct Options {
  sockaddr_in addr{};
  std::string addr_text;
  int conns = 0;
  bool idle = false;
  int64_t warmup = 1000000000;
  int64_t duration = 5000000000;
  int size = 64;
  int server_pid = 0;
  int window = 1000;
  int64_t connect_timeout = 30000000000;
  int64_t stall_timeout = 2000000000;
  int64_t hold = -1;  // -1: until stdin closes
  bool busy_poll = false;
  int sources = -1;  // -1: auto
};

// Why a connection failed (the JSON's per-kind counters).
enum class Err { kWrongBytes, kReset, kClosed };

double cpu_seconds_of(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("server pid %d: %s: %s", pid, path, std::strerror(errno));
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) die("server pid %d: cannot read %s", pid, path);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // comm may hold spaces
  if (!p) die("server pid %d: bad %s", pid, path);
  // Fields after ")": state(3) ... utime(14) stime(15).
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    die("server pid %d: cannot parse %s", pid, path);
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// Per-CPU busy and total jiffies from /proc/stat (busy: all but idle and
// iowait; steal counts as busy: the CPU was not ours).
struct CpuTimes {
  std::vector<unsigned long long> busy, total;
};

CpuTimes cpu_times() {
  CpuTimes t;
  FILE* f = std::fopen("/proc/stat", "re");
  if (!f) return t;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    unsigned cpu;
    unsigned long long v[8] = {};
    if (std::sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3], &v[4],
                    &v[5], &v[6], &v[7]) < 5)
      continue;
    if (cpu >= 4096) continue;
    if (t.busy.size() <= cpu) {
      t.busy.resize(cpu + 1);
      t.total.resize(cpu + 1);
    }
    unsigned long long total = 0;
    for (auto x : v) total += x;
    t.total[cpu] = total;
    t.busy[cpu] = total - v[3] - v[4];
  }
  std::fclose(f);
  return t;
}

double self_cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

class LoadGen {
 public:
  explicit LoadGen(const Options& o) : o_(o), conns_(size_t(o.conns)), expect_(size_t(o.conns) * size_t(o.size)) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1: %s", std::strerror(errno));
  }

  int run() {
    setup();
    if (o_.idle) return hold();
    return load();
  }

 private:
  static constexpr uint64_t kStdin = ~uint64_t(0);

  // ---- errors ------------------------------------------------------------

  void fail(uint32_t id, Err kind, const char* fmt, ...) __attribute__((format(printf, 4, 5))) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Conn& c = conns_[id];
    char full[640];
    std::snprintf(full, sizeof full, "conn %u (message %llu): %s", id, static_cast<unsigned long long>(c.seq), msg);
    if (errors_ == 0) first_error_ = full;
    if (errors_ < 10) std::fprintf(stderr, "loadgen: %s\n", full);
    errors_++;
    err_kind_[int(kind)]++;
    if (c.state == State::kHandshake || c.state == State::kConnecting) in_flight_--;
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = State::kDead;
    dead_++;
  }

  std::string error_json() const {
    char b[160];
    std::snprintf(b, sizeof b, "\"errors\":%llu,\"wrong_bytes\":%llu,\"resets\":%llu,\"closed\":%llu",
                  static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(err_kind_[0]),
                  static_cast<unsigned long long>(err_kind_[1]), static_cast<unsigned long long>(err_kind_[2]));
    return b;
  }

  // ---- setup -------------------------------------------------------------

  void open_conn(uint32_t id, int64_t now) {
    Conn& c = conns_[id];
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s (%d connections open; RLIMIT_NOFILE?)", std::strerror(errno), connected_);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o_.sources > 0) {
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7f000002u + id % uint32_t(o_.sources));  // 127.0.0.2, .3, ...
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &src.sin_addr, ip, sizeof ip);
        die("bind %s (source address of connection %u): %s", ip, id, std::strerror(errno));
      }
    }
    int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&o_.addr), sizeof o_.addr);
    if (r != 0 && errno != EINPROGRESS) {
      int err = errno;
      ::close(fd);
      if (err == ECONNREFUSED || err == EAGAIN || err == ETIMEDOUT || err == EADDRNOTAVAIL) {
        retry(id, now, err);
        return;
      }
      die("connect %s: %s", o_.addr_text.c_str(), std::strerror(err));
    }
    c.fd = fd;
    c.state = State::kConnecting;
    in_flight_++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = id;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl: %s", std::strerror(errno));
  }

  void retry(uint32_t id, int64_t now, int err) {
    retries_++;
    last_retry_errno_ = err;
    retry_queue_.push_back({now + 20000000, id});
  }

  void connected(uint32_t id, int64_t now) {
    Conn& c = conns_[id];
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      if (err == ECONNREFUSED || err == ETIMEDOUT || err == ECONNRESET || err == EAGAIN) {
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
        c.state = State::kNew;
        in_flight_--;
        retry(id, now, err);
        return;
      }
      die("connect %s: %s", o_.addr_text.c_str(), std::strerror(err));
    }
    connected_++;
    c.state = State::kHandshake;  // the first echo proves the server accepted it
    start_message(id, now);
  }

  void setup() {
    const int64_t t0 = now_ns();
    const int64_t deadline = t0 + o_.connect_timeout;
    uint32_t next = 0;
    std::vector<epoll_event> events(1024);
    while (ready_ + dead_ < o_.conns) {
      int64_t now = now_ns();
      if (dead_ > 0) die("setup failed: %s", first_error_.c_str());
      if (now > deadline) {
        die("setup timed out after %.1f s: %d of %d connections connected, %d echoed their first message "
            "(%llu connect retries, last: %s)",
            double(o_.connect_timeout) / 1e9, connected_, o_.conns, ready_,
            static_cast<unsigned long long>(retries_), last_retry_errno_ ? std::strerror(last_retry_errno_) : "-");
      }
      while (!retry_queue_.empty() && retry_queue_.front().first <= now && in_flight_ < o_.window) {
        uint32_t id = retry_queue_.front().second;
        retry_queue_.pop_front();
        open_conn(id, now);
      }
      while (next < uint32_t(o_.conns) && in_flight_ < o_.window && retry_queue_.empty()) open_conn(next++, now);
      int timeout = retry_queue_.empty() ? 100 : 20;
      int n = ::epoll_wait(ep_, events.data(), int(events.size()), timeout);
      if (n < 0 && errno != EINTR) die("epoll_wait: %s", std::strerror(errno));
      for (int i = 0; i < n; i++) handle(events[size_t(i)]);
    }
    setup_s_ = double(now_ns() - t0) / 1e9;
  }

  // ---- the message loop --------------------------------------------------

  void start_message(uint32_t id, int64_t now) {
    Conn& c = conns_[id];
    c.seq++;
    c.sent = 0;
    c.got = 0;
    c.t_send = now;
    fill_message(&expect_[size_t(id) * size_t(o_.size)], o_.size, id, c.seq);
    do_write(id);
  }

  void do_write(uint32_t id) {
    Conn& c = conns_[id];
    const unsigned char* p = &expect_[size_t(id) * size_t(o_.size)];
    while (c.sent < o_.size) {
      ssize_t n = ::send(c.fd, p + c.sent, size_t(o_.size - c.sent), MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += int(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        c.want_write = true;
        return;
      }
      fail(id, Err::kReset, "send: %s", n < 0 ? std::strerror(errno) : "returned 0");
      return;
    }
    c.want_write = false;
  }

  void do_read(uint32_t id, bool hup) {
    Conn& c = conns_[id];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf_, sizeof buf_, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return;
        fail(id, Err::kReset, "recv: %s", std::strerror(errno));
        return;
      }
      if (n == 0) {
        if (c.state == State::kReady)
          fail(id, Err::kClosed, "the server closed an idle connection");
        else
          fail(id, Err::kClosed, "the server closed the connection (%d of %d bytes of the echo received)", c.got, o_.size);
        return;
      }
      if (c.state != State::kHandshake && c.state != State::kRunning) {
        fail(id, Err::kWrongBytes, "%zd unexpected bytes on a connection with no message outstanding", n);
        return;
      }
      if (c.got + int(n) > c.sent) {
        fail(id, Err::kWrongBytes, "the echo is longer than what was sent: %d bytes received, %d sent", c.got + int(n), c.sent);
        return;
      }
      const unsigned char* want = &expect_[size_t(id) * size_t(o_.size) + size_t(c.got)];
      if (std::memcmp(buf_, want, size_t(n)) != 0) {
        int k = 0;
        while (buf_[k] == want[k]) k++;
        fail(id, Err::kWrongBytes, "wrong echo: byte %d is 0x%02x, sent 0x%02x", c.got + k, buf_[k], want[k]);
        return;
      }
      c.got += int(n);
      if (c.got == o_.size) {
        int64_t now = now_ns();
        complete(id, now);
        if (c.state == State::kDead) return;
      }
      // A short read emptied the receive queue: with edge triggering, more
      // data raises a new event. After a hangup, read on to see EOF.
      if (size_t(n) < sizeof buf_ && !hup) return;
    }
  }

  void complete(uint32_t id, int64_t now) {
    Conn& c = conns_[id];
    if (c.state == State::kHandshake) {
      c.state = State::kReady;
      in_flight_--;
      ready_++;
      return;
    }
    if (measuring_) {
      hist_.record(now - c.t_send);
      msgs_++;
      c.window_msgs++;
    }
    if (running_) start_message(id, now);
  }

  void handle(const epoll_event& ev) {
    if (ev.data.u64 == kStdin) {
      char b[256];
      ssize_t n = ::read(0, b, sizeof b);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) stdin_closed_ = true;
      return;
    }
    uint32_t id = uint32_t(ev.data.u64);
    Conn& c = conns_[id];
    if (c.state == State::kDead) return;
    if (c.state == State::kConnecting) {
      if (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) connected(id, now_ns());
      if (c.state != State::kHandshake) return;
    }
    if (c.want_write && (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      do_write(id);
      if (c.state == State::kDead) return;
    }
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      do_read(id, (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
  }

  // ---- load mode ---------------------------------------------------------

  int load() {
    std::vector<epoll_event> events(1024);
    int64_t t_kick = now_ns();
    running_ = true;
    for (uint32_t id = 0; id < uint32_t(o_.conns); id++) {
      if (conns_[id].state != State::kReady) continue;
      conns_[id].state = State::kRunning;
      start_message(id, now_ns());
    }
    const int64_t t_start = t_kick + o_.warmup, t_end = t_start + o_.duration;
    double srv0 = 0, srv1 = 0, cli0 = 0, cli1 = 0;
    int64_t w0 = 0, w1 = 0;
    CpuTimes cpus0, cpus1;
    for (;;) {
      int64_t now = now_ns();
      if (!measuring_ && now >= t_start && w0 == 0) {
        hist_.reset();
        msgs_ = 0;
        for (auto& c : conns_) c.window_msgs = 0;
        if (o_.server_pid) srv0 = cpu_seconds_of(o_.server_pid);
        cli0 = self_cpu_seconds();
        cpus0 = cpu_times();
        w0 = now_ns();
        measuring_ = true;
      }
      if (measuring_ && now >= t_end) {
        w1 = now_ns();
        measuring_ = false;
        if (o_.server_pid) srv1 = cpu_seconds_of(o_.server_pid);
        cli1 = self_cpu_seconds();
        cpus1 = cpu_times();
        break;
      }
      int64_t until = (measuring_ ? t_end : t_start) - now;
      int timeout = o_.busy_poll ? 0 : int(std::max<int64_t>(0, (until + 999999) / 1000000));
      int n = ::epoll_wait(ep_, events.data(), int(events.size()), timeout);
      if (n < 0 && errno != EINTR) die("epoll_wait: %s", std::strerror(errno));
      for (int i = 0; i < n; i++) handle(events[size_t(i)]);
    }
    running_ = false;

    // Connections whose message is still out after --stall-timeout: a lost
    // wake-up or a hung server, not queueing.
    int64_t now = now_ns();
    int stalled = 0;
    int64_t oldest = 0;
    uint64_t min_msgs = UINT64_MAX, max_msgs = 0;
    for (uint32_t id = 0; id < uint32_t(o_.conns); id++) {
      const Conn& c = conns_[id];
      if (c.state != State::kRunning) continue;
      min_msgs = std::min(min_msgs, c.window_msgs);
      max_msgs = std::max(max_msgs, c.window_msgs);
      if (c.got < o_.size) {
        oldest = std::max(oldest, now - c.t_send);
        if (now - c.t_send > o_.stall_timeout) {
          if (stalled == 0)
            std::fprintf(stderr, "loadgen: conn %u: message %llu got no (complete) echo for %.1f s (%d of %d bytes back)\n",
                         id, static_cast<unsigned long long>(c.seq), double(now - c.t_send) / 1e9, c.got, o_.size);
          stalled++;
        }
      }
    }
    if (min_msgs == UINT64_MAX) min_msgs = 0;
    double secs = double(w1 - w0) / 1e9;
    std::printf(
        "{\"mode\":\"load\",\"addr\":\"%s\",\"conns\":%d,\"size\":%d,\"warmup_s\":%.3f,\"window_s\":%.4f,"
        "\"msgs\":%llu,\"msgs_per_s\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
        "\"max_us\":%.2f,\"mean_us\":%.2f,\"min_conn_msgs\":%llu,\"max_conn_msgs\":%llu,",
        json_escape(o_.addr_text).c_str(), o_.conns, o_.size, double(o_.warmup) / 1e9, secs,
        static_cast<unsigned long long>(msgs_), double(msgs_) / secs, hist_.quantile(0.50) / 1e3,
        hist_.quantile(0.90) / 1e3, hist_.quantile(0.99) / 1e3, hist_.quantile(0.999) / 1e3, double(hist_.max()) / 1e3,
        hist_.mean() / 1e3, static_cast<unsigned long long>(min_msgs), static_cast<unsigned long long>(max_msgs));
    if (o_.server_pid) {
      double cpu = srv1 - srv0;
      std::printf("\"server_pid\":%d,\"server_cpu_s\":%.3f,\"server_cpu_util\":%.3f,\"server_cpu_us_per_msg\":%.4f,",
                  o_.server_pid, cpu, cpu / secs, msgs_ ? cpu * 1e6 / double(msgs_) : 0.0);
    }
    // How busy each CPU was in the window, whoever used it: minus the
    // server's and loadgen's own share, it shows what else ran (noise).
    std::printf("\"cpu_busy\":[");
    for (size_t i = 0; i < cpus1.busy.size() && i < cpus0.busy.size(); i++) {
      unsigned long long total = cpus1.total[i] - cpus0.total[i];
      std::printf("%s%.3f", i ? "," : "", total ? double(cpus1.busy[i] - cpus0.busy[i]) / double(total) : 0.0);
    }
    std::printf("],");
    std::printf(
        "\"client_cpu_util\":%.3f,\"setup_s\":%.3f,\"sources\":%d,\"connect_retries\":%llu,\"stalled\":%d,"
        "\"oldest_outstanding_us\":%.0f,%s,\"first_error\":\"%s\"}\n",
        (cli1 - cli0) / secs, setup_s_, o_.sources, static_cast<unsigned long long>(retries_), stalled,
        double(oldest) / 1e3, error_json().c_str(), json_escape(first_error_).c_str());
    std::fflush(stdout);
    if (errors_ > 0 || stalled > 0) {
      std::fprintf(stderr, "loadgen: FAILED: %llu errors, %d stalled connections%s%s\n",
                   static_cast<unsigned long long>(errors_), stalled, errors_ ? "; first: " : "",
                   first_error_.c_str());
      return 1;
    }
    if (msgs_ == 0) {
      std::fprintf(stderr, "loadgen: FAILED: no message completed in the measured window\n");
      return 1;
    }
    return 0;
  }

  // ---- idle mode ---------------------------------------------------------

  int hold() {
    std::printf("{\"event\":\"ready\",\"conns\":%d,\"setup_s\":%.3f,\"sources\":%d,\"connect_retries\":%llu}\n",
                ready_, setup_s_, o_.sources, static_cast<unsigned long long>(retries_));
    std::fflush(stdout);
    int64_t t0 = now_ns();
    if (o_.hold < 0) {
      int fl = ::fcntl(0, F_GETFL);
      if (fl >= 0) ::fcntl(0, F_SETFL, fl | O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = kStdin;
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, 0, &ev) != 0) {
        // Not pollable (a regular file, /dev/null): read it to the end now.
        char b[4096];
        ssize_t n;
        while ((n = ::read(0, b, sizeof b)) > 0) {
        }
        stdin_closed_ = true;
      }
    }
    std::vector<epoll_event> events(1024);
    while (!stdin_closed_) {
      int timeout = 1000;
      if (o_.hold >= 0) {
        int64_t left = t0 + o_.hold - now_ns();
        if (left <= 0) break;
        timeout = int(std::min<int64_t>(1000, (left + 999999) / 1000000));
      }
      int n = ::epoll_wait(ep_, events.data(), int(events.size()), timeout);
      if (n < 0 && errno != EINTR) die("epoll_wait: %s", std::strerror(errno));
      for (int i = 0; i < n; i++) handle(events[size_t(i)]);
    }
    std::printf("{\"mode\":\"idle\",\"addr\":\"%s\",\"conns\":%d,\"open\":%d,\"size\":%d,\"setup_s\":%.3f,\"held_s\":%.3f,"
                "\"sources\":%d,\"connect_retries\":%llu,%s,\"first_error\":\"%s\"}\n",
                json_escape(o_.addr_text).c_str(), o_.conns, o_.conns - dead_, o_.size, setup_s_,
                double(now_ns() - t0) / 1e9, o_.sources, static_cast<unsigned long long>(retries_),
                error_json().c_str(), json_escape(first_error_).c_str());
    std::fflush(stdout);
    if (errors_ > 0) {
      std::fprintf(stderr, "loadgen: FAILED: %llu errors; first: %s\n", static_cast<unsigned long long>(errors_),
                   first_error_.c_str());
      return 1;
    }
    return 0;
  }

  Options o_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::vector<unsigned char> expect_;  // each connection's current message
  unsigned char buf_[4096];
  std::deque<std::pair<int64_t, uint32_t>> retry_queue_;
  int in_flight_ = 0, connected_ = 0, ready_ = 0, dead_ = 0;
  uint64_t retries_ = 0;
  int last_retry_errno_ = 0;
  double setup_s_ = 0;
  bool running_ = false, measuring_ = false, stdin_closed_ = false;
  Histogram hist_;
  uint64_t msgs_ = 0;
  uint64_t errors_ = 0;
  uint64_t err_kind_[3] = {0, 0, 0};  // by Err
  std::string first_error_;
};

void parse_addr(const std::string& s, Options& o) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) usage("--addr wants host:port");
  std::string host = s.substr(0, colon);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  o.addr.sin_family = AF_INET;
  o.addr.sin_port = htons(uint16_t(parse_int(s.c_str() + colon + 1, 1, 65535, "port")));
  if (inet_pton(AF_INET, host.c_str(), &o.addr.sin_addr) != 1) usage("--addr wants an IPv4 address");
  o.addr_text = s;
}

// Enough loopback source addresses that none uses more than half of the
// ephemeral port range (the rest stays for TIME_WAIT and other programs).
int auto_sources(const Options& o) {
  if ((ntohl(o.addr.sin_addr.s_addr) >> 24) != 127) return 0;
  long lo = 32768, hi = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "re")) {
    if (std::fscanf(f, "%ld %ld", &lo, &hi) != 2 || hi < lo) lo = 32768, hi = 60999;
    std::fclose(f);
  }
  long per_source = std::max(1L, (hi - lo + 1) / 2);
  return int(std::clamp((long(o.conns) + per_source - 1) / per_source, 1L, 250L));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool have_addr = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--addr") {
      parse_addr(val(), o);
      have_addr = true;
    } else if (a == "--conns") {
      o.conns = int(parse_int(val(), 1, 1000000, "--conns"));
    } else if (a == "--idle") {
      o.conns = int(parse_int(val(), 1, 1000000, "--idle"));
      o.idle = true;
    } else if (a == "--warmup") {
      o.warmup = parse_duration(val());
    } else if (a == "--duration") {
      o.duration = parse_duration(val());
      if (o.duration <= 0) usage("--duration must be > 0");
    } else if (a == "--size") {
      o.size = int(parse_int(val(), 1, 4096, "--size"));
    } else if (a == "--server-pid") {
      o.server_pid = int(parse_int(val(), 1, 1 << 30, "--server-pid"));
    } else if (a == "--connect-window") {
      o.window = int(parse_int(val(), 1, 1000000, "--connect-window"));
    } else if (a == "--connect-timeout") {
      o.connect_timeout = parse_duration(val());
    } else if (a == "--stall-timeout") {
      o.stall_timeout = parse_duration(val());
    } else if (a == "--hold") {
      const char* v = val();
      o.hold = std::strcmp(v, "stdin") == 0 ? -1 : parse_duration(v);
    } else if (a == "--sources") {
      const char* v = val();
      o.sources = std::strcmp(v, "auto") == 0 ? -1 : int(parse_int(v, 0, 250, "--sources"));
    } else if (a == "--busy-poll") {
      o.busy_poll = true;
    } else if (a == "-h" || a == "--help") {
      usage("help");
    } else {
      usage(("unknown argument " + a).c_str());
    }
  }
  if (!have_addr) usage("--addr is required");
  if (o.conns <= 0) usage("--conns N or --idle N is required");
  if (o.sources < 0) o.sources = auto_sources(o);
  if (o.sources > 0 && (ntohl(o.addr.sin_addr.s_addr) >> 24) != 127)
    usage("--sources N wants a server on 127.0.0.0/8 (the sources are 127.0.0.2 ...); use --sources 0");
  signal(SIGPIPE, SIG_IGN);
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rlim_t(o.conns) + 64) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, rlim_t(o.conns) + 64);
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rlim_t(o.conns) + 16)
      die("RLIMIT_NOFILE hard limit %llu is too low for %d connections", static_cast<unsigned long long>(rl.rlim_max),
          o.conns);
  }
  if (o.server_pid) cpu_seconds_of(o.server_pid);  // fail early if it is not there
  LoadGen g(o);
  return g.run();
}
