// runtime_soak.cpp - the runtime soak (issue 16): spawns, parks, wakes and
// cancels fibers through channels, timers, contexts, sync primitives and
// loopback connections in rounds until a deadline, checking an exact
// ledger in every round. Driver: bench/runtime_soak_run (fits the memory
// and descriptor slopes).
//
//   runtime_soak [--seconds 180] [--procs 2] [--seed 1] [--report 5] [--stall 120]
//
// A round opens with a spawn burst (640 fibers parked on one channel, all
// woken by its close, each exactly once; see burst() for why it runs alone),
// then runs the five workloads of bench/runtime_soak/ at once, each in its
// own fiber (chans.cpp, timers.cpp, contexts.cpp, sync.cpp, conns.cpp: each
// file's opening comment says what it checks). After the round:
//   - every fiber the round spawned has ended (soak::spawn counts spawned,
//     started and ended; after_func callbacks count themselves), and
//     gort::num_fibers() is back to its value before the round: a round
//     leaves no fiber behind;
//   - the process's open descriptors are back to their count after the
//     first round: a round leaves no descriptor behind.
// Any violation prints "LEDGER VIOLATION ..." with the workloads' phases, the
// fiber dump and the scheduler's JSON to stderr, a {"ok": false, ...} line to
// stdout, and exits with status 1 at once. A round that does not end within
// --stall seconds is reported the same way ("STALL"), then the process
// aborts (a core for gdb).
//
// stdout: every --report seconds, at the end of a round (so between two
// rounds: nothing of the last round is alive), a line of key=value pairs:
// VmRSS and open descriptors (/proc/self), malloc's bytes in use
// (mallinfo2), stack regions carved, threads, timers in the P's heaps,
// then running totals. At the end, one JSON object ({"ok": true, ...}) on
// the last line. The driver reads both.
#include "runtime_soak/soak.hpp"

#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <gort/scheduler/introspect.hpp>
#include <gort/scheduler/stack_pool.hpp>

#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace soak {

Totals g;
std::atomic<std::uint64_t> g_round{0};
const char* const kWorkloadNames[kNumWorkloads] = {"chans", "timers", "contexts", "sync", "conns"};
std::atomic<const char*> g_phase[kNumWorkloads];

namespace {
std::atomic<bool> g_failing{false};

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string phases() {
  std::string out;
  for (int w = 0; w < kNumWorkloads; w++) {
    const char* p = g_phase[w].load(std::memory_order_relaxed);
    out += strf("  %-8s %s\n", kWorkloadNames[w], p ? p : "-");
  }
  return out;
}

long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long v = -1;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) v = std::strtol(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return v;
}

// The process between two rounds: every fiber of the last round has ended,
// every connection is closed, so these should not grow.
struct Snapshot {
  long rss_kib = -1;
  long long heap_kib = -1;      // malloc's bytes in use (mallinfo2 uordblks), all arenas
  int fds = -1;
  std::size_t stacks = 0;       // stack regions carved so far (the high-water mark of live fibers)
  int threads = 0;              // M's
  std::size_t heap_timers = 0;  // timers in the P's heaps
  long long fibers = 0;
};

Snapshot snapshot() {
  Snapshot s;
  s.rss_kib = rss_kib();
  s.heap_kib = static_cast<long long>(mallinfo2().uordblks / 1024);
  s.fds = open_fds();
  s.stacks = gort::detail::StackPool::instance().stats().regions;
  gort::detail::SchedRecord r;
  if (gort::detail::snapshot_sched(r)) {
    s.threads = r.threads;
    for (const auto& p : r.ps) s.heap_timers += p.timers;
  }
  s.fibers = static_cast<long long>(gort::num_fibers());
  return s;
}

std::string snapshot_text(const Snapshot& s, bool json) {
  const char* f = json ? "\"rss_kib\": %ld, \"heap_kib\": %lld, \"fds\": %d, \"stacks\": %zu, \"threads\": %d, "
                         "\"heap_timers\": %zu, \"num_fibers\": %lld"
                       : "rss_kib=%ld heap_kib=%lld fds=%d stacks=%zu threads=%d heap_timers=%zu num_fibers=%lld";
  return strf(f, s.rss_kib, s.heap_kib, s.fds, s.stacks, s.threads, s.heap_timers, s.fibers);
}

std::string totals_json() {
  auto u = [](const std::atomic<std::uint64_t>& a) { return static_cast<unsigned long long>(a.load()); };
  return strf(
      "\"rounds\": %llu, \"fibers_spawned\": %llu, \"fibers_started\": %llu, \"fibers_ended\": %llu, "
      "\"values\": %llu, \"unsent\": %llu, \"close_wakes\": %llu, \"timers\": %llu, \"fires\": %llu, "
      "\"stops\": %llu, \"ticks\": %llu, \"contexts\": %llu, \"cancels\": %llu, \"locks\": %llu, "
      "\"sem_ok\": %llu, \"sem_cancelled\": %llu, \"conns\": %llu, \"dial_cancelled\": %llu, "
      "\"read_timeouts\": %llu, \"write_timeouts\": %llu, \"closed_reads\": %llu, \"bytes\": %llu",
      u(g.rounds), u(g.spawned), u(g.started), u(g.ended), u(g.values), u(g.unsent), u(g.close_wakes), u(g.timers),
      u(g.fires), u(g.stops), u(g.ticks), u(g.contexts), u(g.cancels), u(g.locks), u(g.sem_ok), u(g.sem_cancelled),
      u(g.conns), u(g.dial_cancelled), u(g.read_timeouts), u(g.write_timeouts), u(g.closed_reads), u(g.bytes));
}

// Prints the failure once; a second failing fiber waits for the exit.
void report_failure(const char* kind, const std::string& msg) {
  if (g_failing.exchange(true)) {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::fprintf(stderr, "%s in round %llu: %s\nworkload phases:\n%s", kind,
               static_cast<unsigned long long>(g_round.load()), msg.c_str(), phases().c_str());
  std::fprintf(stderr, "gort::num_fibers() = %lld\nfibers:\n%s\nscheduler: %s\n",
               static_cast<long long>(gort::num_fibers()), gort::debug::fiber_dump().c_str(),
               gort::debug::sched_json().c_str());
  std::fprintf(stdout, "{\"ok\": false, \"error\": \"%s: %s\", \"round\": %llu, %s}\n", kind,
               json_escape(msg).c_str(), static_cast<unsigned long long>(g_round.load()), totals_json().c_str());
  std::fflush(stdout);
  std::fflush(stderr);
}

struct Args {
  double seconds = 180;
  int procs = 2;
  std::uint64_t seed = 1;
  double report = 5;
  double stall = 120;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string k = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "runtime_soak: %s needs a value\n", k.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (k == "--seconds") {
      a.seconds = std::atof(val());
    } else if (k == "--procs") {
      a.procs = std::atoi(val());
    } else if (k == "--seed") {
      a.seed = std::strtoull(val(), nullptr, 10);
    } else if (k == "--report") {
      a.report = std::atof(val());
    } else if (k == "--stall") {
      a.stall = std::atof(val());
    } else {
      std::fprintf(stderr,
                   "usage: runtime_soak [--seconds 180] [--procs 2] [--seed 1] [--report 5] [--stall 120]\n");
      std::exit(64);
    }
  }
  return a;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Until the fibers that reported done() have also exited: done() comes
// before a fiber's last instructions, so the counters trail wait() briefly.
void settle(std::int64_t baseline) {
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    std::uint64_t sp = g.spawned.load(), st = g.started.load(), en = g.ended.load();
    std::int64_t n = gort::num_fibers();
    if (sp == st && st == en && n == baseline) return;
    if (since(t0) > 5) {
      fail(__FILE__, __LINE__,
           strf("round end: fibers spawned %llu, started %llu, ended %llu; gort::num_fibers() %lld, %lld before "
                "the round (5 s after every workload returned)",
                (unsigned long long)sp, (unsigned long long)st, (unsigned long long)en, (long long)n,
                (long long)baseline));
    }
    gort::yield();
  }
}

// The spawn burst that opens every round: kBurst fibers spawned at once, all
// parked on one channel, all woken by its close, each exactly once. It runs
// alone (the round's workloads start after its fibers have exited), and is
// larger than the round's workloads ever have alive at once, so it also
// fixes the stack pool's high-water mark in the first round: a later peak of
// live fibers does not carve new stacks, which would step the RSS up.
constexpr int kBurst = 640;

void burst(std::int64_t baseline) {
  gort::chan<int> gate(0);
  std::vector<std::atomic<std::uint8_t>> woke(kBurst);
  gort::WaitGroup parked, done;
  parked.add(kBurst);
  done.add(kBurst);
  for (int i = 0; i < kBurst; i++) {
    spawn([&, i] {
      parked.done();  // right before it parks (close may find it a little early)
      auto v = gate.recv();
      SOAK_CHECK(!v, "burst: fiber %d received %d from a channel nobody sent on", i, *v);
      std::uint8_t prev = woke[i].fetch_add(1, std::memory_order_relaxed);
      SOAK_CHECK(prev == 0, "burst: fiber %d woke twice", i);
      done.done();
    });
  }
  parked.wait();
  gate.close();
  done.wait();
  for (int i = 0; i < kBurst; i++) {
    SOAK_CHECK(woke[i].load() == 1, "burst: fiber %d woke %u times", i, unsigned(woke[i].load()));
  }
  settle(baseline);
}

}  // namespace

std::string strf(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void fail(const char* file, int line, const std::string& msg) {
  const char* base = std::strrchr(file, '/');
  report_failure("LEDGER VIOLATION", strf("%s:%d: %s", base ? base + 1 : file, line, msg.c_str()));
  std::_Exit(1);
}

int open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) n++;
  closedir(d);
  return n - 3;  // ".", ".." and the directory's own descriptor
}

}  // namespace soak

int main(int argc, char** argv) {
  using namespace soak;
  Args args = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto t0 = std::chrono::steady_clock::now();

  // The stall watchdog: a plain thread, outside the runtime it watches.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    std::uint64_t last = g.rounds.load();
    auto since_progress = std::chrono::steady_clock::now();
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      std::uint64_t now = g.rounds.load();
      if (now != last) {
        last = now;
        since_progress = std::chrono::steady_clock::now();
      } else if (since(since_progress) > args.stall) {
        report_failure("STALL", strf("no round ended for %.0f s", args.stall));
        std::abort();
      }
    }
  });

  int rc = gort::run(gort::Config{.gomaxprocs = args.procs}, [&] {
    std::fprintf(stderr, "runtime_soak: %g s at GOMAXPROCS=%d, seed %llu, pid %d\n", args.seconds,
                 gort::gomaxprocs(), static_cast<unsigned long long>(args.seed), static_cast<int>(getpid()));
    double next_report = args.report;
    int fd_baseline = -1;
    for (std::uint64_t idx = 1; since(t0) < args.seconds; idx++) {
      g_round.store(idx);
      Round r{idx, args.seed * 0x9e3779b97f4a7c15ull + idx};
      std::int64_t baseline = gort::num_fibers();
      burst(baseline);
      gort::WaitGroup wg;
      wg.add(kNumWorkloads);
      void (*const workloads[kNumWorkloads])(const Round&) = {run_chans, run_timers, run_contexts, run_sync,
                                                              run_conns};
      for (int w = 0; w < kNumWorkloads; w++) {
        phase(static_cast<Workload>(w), "start");
        spawn([&, w] {
          workloads[w](r);
          wg.done();
        });
      }
      wg.wait();
      settle(baseline);
      int fds = open_fds();
      if (fd_baseline < 0) fd_baseline = fds;
      SOAK_CHECK(fds == fd_baseline, "round end: %d descriptors open, %d after the first round", fds, fd_baseline);
      g.rounds.fetch_add(1);
      if (since(t0) >= next_report) {
        next_report += args.report;
        std::printf("t=%.1f round=%llu %s fibers_ended=%llu values=%llu timers=%llu fires=%llu stops=%llu "
                    "cancels=%llu conns=%llu bytes=%llu\n",
                    since(t0), (unsigned long long)idx, snapshot_text(snapshot(), false).c_str(),
                    (unsigned long long)g.ended.load(), (unsigned long long)g.values.load(),
                    (unsigned long long)g.timers.load(), (unsigned long long)g.fires.load(),
                    (unsigned long long)g.stops.load(), (unsigned long long)g.cancels.load(),
                    (unsigned long long)g.conns.load(), (unsigned long long)g.bytes.load());
      }
    }
    std::printf("{\"ok\": true, \"seconds\": %.1f, \"gomaxprocs\": %d, \"seed\": %llu, %s, %s}\n", since(t0),
                gort::gomaxprocs(), static_cast<unsigned long long>(args.seed), totals_json().c_str(),
                snapshot_text(snapshot(), true).c_str());
    return 0;
  });
  finished.store(true);
  watchdog.join();
  return rc;
}
