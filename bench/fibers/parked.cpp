// parked.cpp - the "1,000,000 parked fibers" benchmark, gort side
// (Go twin: bench/peers/go/parked/main.go; driver: bench/fibers_run).
//
//   parked_fibers [-n 1000000] [-mode chan|timer] [-margin SECONDS] [-stack_size BYTES]
//
// Prints one JSON line on stdout. Definitions (identical in both programs):
//
//   spawn_s   From just before the spawn loop until all N fibers are parked:
//             each fiber calls ready.done() right before it parks; the main
//             fiber waits for `ready`, then yields 10 times so the last ones
//             finish parking. Includes creating the per-fiber channels and
//             filling the array of their handles (chan mode).
//   rss_before_kib, rss_parked_kib
//             VmRSS (/proc/self/status) just before the spawn loop and while
//             all N are parked. kib_per_fiber = (parked - before) / N, so it
//             counts the stack, the fiber (G) and, in chan mode, the channel
//             and its 8-byte handle in the array. pte_parked_kib is VmPTE
//             (page tables, not part of VmRSS) while parked.
//   vm_maps   lines of /proc/self/maps while parked.
//   wake_s    chan:  each fiber blocks receiving on its own unbuffered channel
//                    (gort::chan<int>(0) / make(chan int)); from the moment the
//                    main fiber starts sending one value to each channel in
//                    turn until the WaitGroup `exited` (done by each fiber after
//                    its receive) reaches zero.
//             timer: every fiber sleeps until one common deadline, deadline =
//                    (start of the spawn loop) + margin, by sleeping for
//                    (deadline - now) (gort::sleep_for / time.Sleep); wake_s is
//                    from the deadline until `exited` reaches zero. margin
//                    (-margin, default 1 s + 10 us * N) must exceed the spawn
//                    phase plus the measurement; if the measurement ends after
//                    the deadline the run fails (exit status 3): raise -margin.
//   stack_size  bytes of virtual stack per fiber (gort: the default unless
//             -stack_size is given; only touched pages are resident).
//
// GOMAXPROCS comes from the environment (bench/fibers_run pins and sets it).
#include <gort/gort.hpp>
#include <gort/scheduler/config.hpp>
#include <gort/scheduler/stack_pool.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A "Name:   123 kB" field of /proc/self/status, in KiB (-1 if missing).
long status_kib(const char* name) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long v = -1;
  std::size_t len = std::strlen(name);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, name, len) == 0 && line[len] == ':') {
      v = std::strtol(line + len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return v;
}

long count_maps() {
  std::FILE* f = std::fopen("/proc/self/maps", "r");
  if (f == nullptr) return -1;
  char buf[8192];
  long lines = 0;
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) {
    for (std::size_t i = 0; i < got; i++) lines += buf[i] == '\n';
  }
  std::fclose(f);
  return lines;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "parked_fibers: %s\nusage: parked_fibers [-n N] [-mode chan|timer] [-margin SECONDS] "
               "[-stack_size BYTES]\n",
               msg);
  std::exit(2);
}

struct Options {
  long n = 1000000;
  std::string mode = "chan";
  double margin = -1;  // timer mode; < 0: 1 s + 10 us * n
  std::size_t stack_size = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) a.erase(0, 1);  // -x and --x, as Go's flag package
    std::string v;
    if (auto eq = a.find('='); eq != std::string::npos) {
      v = a.substr(eq + 1);
      a.resize(eq);
    } else if (a == "-n" || a == "-mode" || a == "-margin" || a == "-stack_size") {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      v = argv[++i];
    } else {
      usage(("unknown argument " + a).c_str());
    }
    char* end = nullptr;
    if (a == "-n") {
      o.n = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || o.n <= 0 || o.n > 100000000) usage("-n: want a positive integer");
    } else if (a == "-mode") {
      o.mode = v;
      if (o.mode != "chan" && o.mode != "timer") usage("-mode: want chan or timer");
    } else if (a == "-margin") {
      o.margin = std::strtod(v.c_str(), &end);
      if (*end != '\0' || o.margin <= 0) usage("-margin: want positive seconds");
    } else if (a == "-stack_size") {
      o.stack_size = std::strtoull(v.c_str(), &end, 10);
      if (*end != '\0') usage("-stack_size: want bytes");
    } else {
      usage(("unknown flag " + a).c_str());
    }
  }
  if (o.margin < 0) o.margin = 1.0 + 10e-6 * static_cast<double>(o.n);
  return o;
}

int bench(const Options& o) {
  const long n = o.n;
  const gort::spawn_options opts{.stack_size = o.stack_size};
  const bool timer = o.mode == "timer";
  gort::WaitGroup ready, exited;
  std::vector<gort::chan<int>> chans;
  if (!timer) chans.reserve(static_cast<std::size_t>(n));  // untouched until filled: counted per fiber

  long rss_before = status_kib("VmRSS");
  auto t0 = Clock::now();
  auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.margin));
  ready.add(static_cast<int>(n));
  exited.add(static_cast<int>(n));
  for (long i = 0; i < n; i++) {
    if (timer) {
      gort::go(opts, [&ready, &exited, deadline] {
        ready.done();
        gort::sleep_for(deadline - Clock::now());
        exited.done();
      });
    } else {
      gort::chan<int> ch(0);
      chans.push_back(ch);
      gort::go(opts, [&ready, &exited, ch]() mutable {
        ready.done();
        (void)ch.recv();
        exited.done();
      });
    }
  }
  ready.wait();
  for (int i = 0; i < 10; i++) gort::yield();  // let the last ones finish parking
  auto t1 = Clock::now();

  long rss_parked = status_kib("VmRSS");
  long pte_parked = status_kib("VmPTE");
  long maps = count_maps();
  auto t2 = Clock::now();
  if (timer && t2 >= deadline) {
    std::fprintf(stderr,
                 "parked_fibers: spawn phase and measurement took %.3f s, past the %.3f s margin; "
                 "raise -margin\n",
                 seconds(t2 - t0), o.margin);
    return 3;
  }
  if (!timer) {
    for (auto& ch : chans) ch.send(1);
  }
  exited.wait();
  auto t3 = Clock::now();
  double wake = timer ? seconds(t3 - deadline) : seconds(t3 - t2);

  std::size_t stack = o.stack_size != 0 ? o.stack_size : gort::detail::resolve_config({}).stack_size;
  stack = gort::detail::StackPool::round_size(stack);
  auto& pool = gort::detail::StackPool::instance();
  auto ps = pool.stats();
  std::printf(
      "{\"system\":\"gort\",\"mode\":\"%s\",\"n\":%ld,\"procs\":%d,\"spawn_s\":%.6f,\"wake_s\":%.6f,"
      "\"rss_before_kib\":%ld,\"rss_parked_kib\":%ld,\"kib_per_fiber\":%.3f,\"pte_parked_kib\":%ld,"
      "\"vm_maps\":%ld,\"stack_size\":%zu,\"stack_size_note\":\"%s\",\"stack_guard\":\"%s\","
      "\"stack_regions\":%zu,\"stack_slabs\":%zu%s}\n",
      o.mode.c_str(), n, gort::gomaxprocs(), seconds(t1 - t0), wake, rss_before, rss_parked,
      static_cast<double>(rss_parked - rss_before) / static_cast<double>(n), pte_parked, maps, stack,
      o.stack_size != 0 ? "set by -stack_size" : "gort default (GORT_STACK_SIZE or 256 KiB), virtual, lazily committed",
      pool.mode_name(), ps.regions, ps.slabs,
      timer ? (",\"margin_s\":" + std::to_string(o.margin)).c_str() : "");
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  return gort::run([&] { return bench(o); });
}
