// config.cpp - resolving GOMAXPROCS, the default stack size and GORT_DEBUG.
//
// Go: runtime/debug.go (GOMAXPROCS default), runtime/cgroup_linux.go and
// internal/runtime/cgroup (Go 1.25's cgroup-aware default: the CPUs of the
// affinity mask, capped by the cgroup's CPU bandwidth limit rounded up, but
// never below 2 because of that limit). Go reads the limit of the leaf cgroup
// only; gort also walks up the hierarchy and takes the tightest limit, since
// a parent's quota bounds its children too.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gort/scheduler/config.hpp"
#include "gort/scheduler/stack_pool.hpp"

namespace gort::detail {

namespace {

constexpr int kMaxProcs = 256;  // gort's cap (Go has none); P's are preallocated

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t i = s.find(sep, start);
    parts.emplace_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) break;
    start = i + 1;
  }
  return parts;
}

bool parse_ll(std::string_view s, long long& v) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty()) return false;
  std::string str(s);
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(str.c_str(), &end, 10);
  return errno == 0 && end == str.c_str() + str.size();
}

void take_min(std::optional<double>& best, std::optional<double> v) {
  if (v && (!best || *v < *best)) best = v;
}

// Where the controller's hierarchy is mounted (field 5 of mountinfo) and the
// cgroup root it shows (field 4), for the mount of `fstype` (cgroup2, or
// cgroup with `controller` among its super options).
bool find_mount(const std::string& fstype, const std::string& controller, std::string& mount_point,
                std::string& root) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto left = split(line.substr(0, dash), ' ');
    auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3 || right[0] != fstype) continue;
    if (!controller.empty()) {
      auto opts = split(right[2], ',');
      if (std::find(opts.begin(), opts.end(), controller) == opts.end()) continue;
    }
    root = left[3];
    mount_point = left[4];
    return true;
  }
  return false;
}

// The limit at each level from the process's cgroup up to the mount's root.
template <class ReadLimit>
std::optional<double> walk_up(const std::string& mount_point, const std::string& root, std::string path,
                              ReadLimit read_limit) {
  if (path.compare(0, root.size(), root) == 0 && root != "/") path = path.substr(root.size());
  std::optional<double> best;
  for (;;) {
    take_min(best, read_limit(mount_point + (path == "/" ? "" : path)));
    if (path.empty() || path == "/") break;
    std::size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return best;
}

}  // namespace

std::optional<double> parse_cgroup2_cpu_max(std::string_view contents) {
  auto fields = split(contents, ' ');
  if (fields.size() != 2) return std::nullopt;
  long long quota = 0, period = 0;
  if (fields[0] == "max" || !parse_ll(fields[0], quota) || !parse_ll(fields[1], period)) return std::nullopt;
  return parse_cgroup1_quota(quota, period);
}

std::optional<double> parse_cgroup1_quota(long long quota_us, long long period_us) {
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;  // -1: unlimited
  return static_cast<double>(quota_us) / static_cast<double>(period_us);
}

std::optional<double> cgroup_cpu_limit() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  std::optional<double> best;
  while (std::getline(f, line)) {
    // "hierarchy-id:controllers:path"
    std::size_t a = line.find(':');
    std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string id = line.substr(0, a);
    auto controllers = split(line.substr(a + 1, b - a - 1), ',');
    std::string path = line.substr(b + 1);
    std::string mount, root;
    if (id == "0" && controllers.size() == 1 && controllers[0].empty()) {
      if (!find_mount("cgroup2", "", mount, root)) continue;
      take_min(best, walk_up(mount, root, path, [](const std::string& dir) -> std::optional<double> {
                 std::string s;
                 if (!read_file(dir + "/cpu.max", s)) return std::nullopt;
                 return parse_cgroup2_cpu_max(s);
               }));
    } else if (std::find(controllers.begin(), controllers.end(), "cpu") != controllers.end()) {
      if (!find_mount("cgroup", "cpu", mount, root)) continue;
      take_min(best, walk_up(mount, root, path, [](const std::string& dir) -> std::optional<double> {
                 std::string q, p;
                 long long quota = 0, period = 0;
                 if (!read_file(dir + "/cpu.cfs_quota_us", q) || !read_file(dir + "/cpu.cfs_period_us", p) ||
                     !parse_ll(q, quota) || !parse_ll(p, period)) {
                   return std::nullopt;
                 }
                 return parse_cgroup1_quota(quota, period);
               }));
    }
  }
  return best;
}

int affinity_cpus() noexcept {
  for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
    cpu_set_t* set = CPU_ALLOC(static_cast<std::size_t>(ncpu));
    if (set == nullptr) break;
    std::size_t size = CPU_ALLOC_SIZE(static_cast<std::size_t>(ncpu));
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0) {
      int n = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return n > 0 ? n : 1;
    }
    CPU_FREE(set);
    if (errno != EINVAL) break;  // EINVAL: the mask is larger than our set
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

int default_gomaxprocs(int ncpu, std::optional<double> limit) {
  int procs = ncpu > 0 ? ncpu : 1;
  if (limit) {
    // Go 1.25: the limit rounded up, but at least 2, and never above the CPUs.
    int l = static_cast<int>(std::ceil(*limit));
    procs = std::min(procs, std::max(2, l));
  }
  return std::clamp(procs, 1, kMaxProcs);
}

namespace {
// "512k", "1m", "262144" -> bytes; 0 on error.
std::size_t parse_size(const char* s) {
  if (s == nullptr || *s == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s) return 0;
  std::string suffix = end;
  if (suffix == "k" || suffix == "K" || suffix == "KiB") v *= 1024;
  else if (suffix == "m" || suffix == "M" || suffix == "MiB") v *= 1024 * 1024;
  else if (!suffix.empty()) return 0;
  return static_cast<std::size_t>(v);
}
}  // namespace

SchedConfig resolve_config(SchedConfig c) {
  if (c.gomaxprocs <= 0) {
    long long env = 0;
    const char* e = std::getenv("GOMAXPROCS");
    if (e != nullptr && parse_ll(e, env) && env > 0) {
      c.gomaxprocs = static_cast<int>(std::min<long long>(env, kMaxProcs));
    } else {
      c.gomaxprocs = default_gomaxprocs(affinity_cpus(), cgroup_cpu_limit());
    }
  }
  c.gomaxprocs = std::clamp(c.gomaxprocs, 1, kMaxProcs);
  if (c.stack_size == 0) c.stack_size = parse_size(std::getenv("GORT_STACK_SIZE"));
  if (c.stack_size == 0) c.stack_size = StackPool::kDefaultSize;
  if (const char* dbg = std::getenv("GORT_DEBUG")) {
    for (const auto& kv : split(dbg, ',')) {
      std::size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string key = kv.substr(0, eq);
      long long v = 0;
      if (!parse_ll(kv.substr(eq + 1), v) || v < 0) continue;
      if (key == "schedtrace" && c.schedtrace_ms == 0) c.schedtrace_ms = static_cast<int>(v);
      if (key == "scheddetail" && !c.scheddetail) c.scheddetail = v != 0;
      if (key == "asyncpreemptoff" && c.hard_preempt) c.hard_preempt = v == 0;
    }
  }
  return c;
}

}  // namespace gort::detail
