// config.cpp - resolving GOMAXPROCS, the default stack size and GORT_DEBUG.
//
// Go: runtime/proc.go (procinit: a positive GOMAXPROCS env wins), runtime/
// cgroup_linux.go and internal/runtime/cgroup (Go 1.25's cgroup-aware
// default). Go 1.25's default GOMAXPROCS is
//
//   procs = CPUs in the affinity mask
//   if the cgroup has a CPU limit L: procs = min(procs, max(2, ceil(L)))
//
// (adjustCgroupGOMAXPROCS). So a limit never pushes GOMAXPROCS below 2, but it
// never raises it above the CPU count either: 1 CPU stays 1.
//
// Differences from Go, all deliberate:
//   - Go reads the limit of the leaf cgroup only (its own comment calls a
//     tighter parent limit a known downside). gort walks from the leaf up to
//     the root of the mounted hierarchy and takes the tightest limit, since a
//     parent's quota bounds its children too. A level without the limit file
//     (the v2 root has no cpu.max) just has no limit.
//   - Go builds the cgroup directory as mount point + the path from
//     /proc/self/cgroup. gort strips the mount's root (mountinfo field 4)
//     from that path first, so v1 containers without a cgroup namespace
//     (root "/docker/<id>", path "/docker/<id>") resolve too.
//   - GOMAXPROCS is capped at kMaxProcs (256) wherever it comes from: the
//     config, the environment or the machine. Go has no cap.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "gort/scheduler/config.hpp"
#include "gort/scheduler/stack_pool.hpp"

namespace gort::detail {

// Test seam: cgroup_cpu_limit() with the contents of /proc/self/cgroup and
// /proc/self/mountinfo given, and cgroup files read through `read` (nullopt:
// the file cannot be read). Not in config.hpp; tests/scheduler/config_test.cpp
// declares it again.
using CgroupFileReader = std::function<std::optional<std::string>(const std::string& path)>;
std::optional<double> cgroup_cpu_limit_from(std::string_view proc_self_cgroup, std::string_view mountinfo,
                                            const CgroupFileReader& read);

namespace {

constexpr int kMaxProcs = 256;  // gort's cap (Go has none)

// The whole contents of a small file (procfs, cgroupfs); nullopt if it cannot
// be opened or read. Sizes reported by stat are meaningless there, so read
// until EOF, giving up past 16 MiB.
std::optional<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || out.size() > (std::size_t{16} << 20)) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    std::size_t i = s.find(sep);
    parts.push_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return parts;
}

std::string_view drop_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

// The whole of `s` as a decimal integer: optional '-', digits, no spaces or
// '+', no overflow (like Go's runtime atoi).
template <class Int>
bool parse_int(std::string_view s, Int& v) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  return ec == std::errc{} && end == s.data() + s.size();
}

// One cgroup level's limit file(s).
struct Level {
  enum Kind { limit, unlimited, missing, malformed } kind;
  double value = 0;
};

// cpu.max: "<quota> <period>\n", quota "max" when unlimited.
Level parse_cpu_max(std::string_view s) {
  s = drop_newline(s);
  std::size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return {Level::malformed};
  std::string_view quota_s = s.substr(0, sp);
  if (quota_s == "max") return {Level::unlimited};
  long long quota = 0, period = 0;
  if (!parse_int(quota_s, quota) || !parse_int(s.substr(sp + 1), period)) return {Level::malformed};
  std::optional<double> l = parse_cgroup1_quota(quota, period);
  if (!l) return {Level::malformed};
  return {Level::limit, *l};
}

Level read_v2_level(const std::string& dir, const CgroupFileReader& read) {
  std::optional<std::string> max = read(dir + "/cpu.max");
  if (!max) return {Level::missing};
  return parse_cpu_max(*max);
}

Level read_v1_level(const std::string& dir, const CgroupFileReader& read) {
  std::optional<std::string> quota_s = read(dir + "/cpu.cfs_quota_us");
  if (!quota_s) return {Level::missing};
  long long quota = 0, period = 0;
  if (!parse_int(drop_newline(*quota_s), quota)) return {Level::malformed};
  if (quota < 0) return {Level::unlimited};  // -1
  std::optional<std::string> period_s = read(dir + "/cpu.cfs_period_us");
  if (!period_s || !parse_int(drop_newline(*period_s), period)) return {Level::malformed};
  std::optional<double> l = parse_cgroup1_quota(quota, period);
  if (!l) return {Level::malformed};
  return {Level::limit, *l};
}

// Undoes the octal escapes (\040 for space, ...) of paths in mountinfo.
std::optional<std::string> unescape_mount_path(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    if (in[i] != '\\') {
      out += in[i++];
      continue;
    }
    if (i + 3 >= in.size()) return std::nullopt;
    int c = 0;
    for (std::size_t k = 1; k <= 3; k++) {
      if (in[i + k] < '0' || in[i + k] > '7') return std::nullopt;
      c = c * 8 + (in[i + k] - '0');
    }
    out += static_cast<char>(c);
    i += 4;
  }
  return out;
}

bool has_item(std::string_view comma_list, std::string_view item) {
  for (std::string_view x : split(comma_list, ',')) {
    if (x == item) return true;
  }
  return false;
}

// `root` is `path` or one of its ancestors.
bool path_under(std::string_view path, std::string_view root) {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, root.size()) == root && (path.size() == root.size() || path[root.size()] == '/');
}

struct Mount {
  std::string root;   // mountinfo field 4: the cgroup shown at the mount point
  std::string point;  // field 5
};

// The mounts of the cgroup2 hierarchy (v2) or of the v1 hierarchy whose
// super options include "cpu".
std::vector<Mount> cpu_mounts(std::string_view mountinfo, bool v2) {
  std::vector<Mount> mounts;
  for (std::string_view line : split(mountinfo, '\n')) {
    // "36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup cgroup rw,cpu,cpuacct"
    std::vector<std::string_view> f = split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), std::string_view("-"));
    if (dash - f.begin() < 6 || f.end() - dash < 4) continue;
    std::string_view fstype = dash[1], super_opts = dash[3];
    if (v2 ? fstype != "cgroup2" : (fstype != "cgroup" || !has_item(super_opts, "cpu"))) continue;
    std::optional<std::string> root = unescape_mount_path(f[3]), point = unescape_mount_path(f[4]);
    if (root && point) mounts.push_back({std::move(*root), std::move(*point)});
  }
  return mounts;
}

}  // namespace

std::optional<double> parse_cgroup2_cpu_max(std::string_view contents) {
  Level l = parse_cpu_max(contents);
  if (l.kind != Level::limit) return std::nullopt;
  return l.value;
}

std::optional<double> parse_cgroup1_quota(long long quota_us, long long period_us) {
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;  // -1: unlimited
  return static_cast<double>(quota_us) / static_cast<double>(period_us);
}

std::optional<double> cgroup_cpu_limit_from(std::string_view proc_self_cgroup, std::string_view mountinfo,
                                            const CgroupFileReader& read) {
  // Lines "hierarchy-id:controller-list:path". As in Go, a v1 hierarchy with
  // the cpu controller takes precedence over the v2 one ("0::/path").
  std::optional<std::string_view> v1_path, v2_path;
  for (std::string_view line : split(proc_self_cgroup, '\n')) {
    std::size_t a = line.find(':');
    std::size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1),
                     path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') continue;
    if (id == "0" && controllers.empty()) {
      v2_path = path;
    } else if (has_item(controllers, "cpu")) {
      v1_path = path;
      break;
    }
  }
  if (!v1_path && !v2_path) return std::nullopt;
  const bool v2 = !v1_path;
  std::string_view path = v2 ? *v2_path : *v1_path;

  std::vector<Mount> mounts = cpu_mounts(mountinfo, v2);
  if (mounts.empty()) return std::nullopt;
  // Prefer the mount showing the deepest ancestor of our cgroup; else do as
  // Go does and append the whole path to a mount point (v2: the last mount,
  // v1: the first).
  const Mount* mount = nullptr;
  for (const Mount& m : mounts) {
    if (path_under(path, m.root) && (mount == nullptr || m.root.size() > mount->root.size())) mount = &m;
  }
  std::string rel(path);
  if (mount != nullptr) {
    if (mount->root != "/") rel = rel.substr(mount->root.size());
  } else {
    mount = v2 ? &mounts.back() : &mounts.front();
  }
  while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
  if (rel.empty()) rel = "/";

  // From the leaf up to the mount point, inclusive.
  std::optional<double> best;
  for (;;) {
    std::string dir = mount->point + (rel == "/" ? "" : rel);
    Level l = v2 ? read_v2_level(dir, read) : read_v1_level(dir, read);
    if (l.kind == Level::malformed) return std::nullopt;
    if (l.kind == Level::limit && (!best || l.value < *best)) best = l.value;
    if (rel == "/") break;
    std::size_t slash = rel.rfind('/');
    rel = slash == 0 ? "/" : rel.substr(0, slash);
  }
  return best;
}

std::optional<double> cgroup_cpu_limit() {
  try {
    std::optional<std::string> cgroup = read_small_file("/proc/self/cgroup");
    std::optional<std::string> mountinfo = read_small_file("/proc/self/mountinfo");
    if (!cgroup || !mountinfo) return std::nullopt;
    return cgroup_cpu_limit_from(*cgroup, *mountinfo, read_small_file);
  } catch (...) {  // std::bad_alloc: no limit known
    return std::nullopt;
  }
}

int affinity_cpus() noexcept {
  // The kernel's mask may exceed CPU_SETSIZE (1024): grow the set on EINVAL.
  for (std::size_t ncpu = 1024; ncpu <= (std::size_t{1} << 22); ncpu *= 2) {
    cpu_set_t* set = CPU_ALLOC(ncpu);
    if (set == nullptr) break;
    std::size_t size = CPU_ALLOC_SIZE(ncpu);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0) {
      int n = CPU_COUNT_S(size, set);
      CPU_FREE(set);
      return n > 0 ? n : 1;
    }
    int err = errno;
    CPU_FREE(set);
    if (err != EINVAL) break;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(std::min<long>(n, 1L << 30)) : 1;
}

int default_gomaxprocs(int ncpu, std::optional<double> limit) {
  int procs = ncpu > 0 ? ncpu : 1;
  if (limit) {
    // Go 1.25 adjustCgroupGOMAXPROCS: limit = max(ceil(limit), 2); if
    // limit < procs { procs = limit }. (A NaN limit compares false: ignored.)
    double l = std::max(std::ceil(*limit), 2.0);
    if (l < static_cast<double>(procs)) procs = static_cast<int>(l);
  }
  return procs;
}

namespace {

// "262144", "512k", "512K", "2m", "2M" (also "512KiB", "2MiB") -> bytes;
// 0 when unset or malformed.
std::size_t parse_stack_size(const char* env) {
  if (env == nullptr) return 0;
  std::string_view s(env);
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') digits++;
  std::size_t v = 0;
  if (!parse_int(s.substr(0, digits), v)) return 0;
  std::string_view suffix = s.substr(digits);
  std::size_t mult = 1;
  if (suffix == "k" || suffix == "K" || suffix == "KiB") mult = std::size_t{1} << 10;
  else if (suffix == "m" || suffix == "M" || suffix == "MiB") mult = std::size_t{1} << 20;
  else if (!suffix.empty()) return 0;
  if (v > SIZE_MAX / mult) return 0;
  return v * mult;
}

}  // namespace

SchedConfig resolve_config(SchedConfig c) {
  if (c.gomaxprocs <= 0) {
    // Go's procinit: a positive whole number in $GOMAXPROCS wins.
    int env = 0;
    const char* e = std::getenv("GOMAXPROCS");
    if (e != nullptr && parse_int(std::string_view(e), env) && env > 0) {
      c.gomaxprocs = env;
    } else {
      c.gomaxprocs = default_gomaxprocs(affinity_cpus(), cgroup_cpu_limit());
    }
  }
  c.gomaxprocs = std::clamp(c.gomaxprocs, 1, kMaxProcs);

  if (c.stack_size == 0) c.stack_size = parse_stack_size(std::getenv("GORT_STACK_SIZE"));
  if (c.stack_size == 0) c.stack_size = StackPool::kDefaultSize;

  // Like GODEBUG at startup: comma-separated key=value, left to right (a
  // later setting overrides an earlier one), unknown keys and malformed
  // values ignored. The result only fills fields left at their defaults.
  if (const char* dbg = std::getenv("GORT_DEBUG")) {
    std::optional<int> schedtrace, scheddetail, asyncpreemptoff;
    for (std::string_view kv : split(dbg, ',')) {
      std::size_t eq = kv.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = kv.substr(0, eq);
      int v = 0;
      if (!parse_int(kv.substr(eq + 1), v)) continue;
      if (key == "schedtrace") schedtrace = v;
      else if (key == "scheddetail") scheddetail = v;
      else if (key == "asyncpreemptoff") asyncpreemptoff = v;
    }
    if (schedtrace && c.schedtrace_ms == 0) c.schedtrace_ms = std::max(*schedtrace, 0);  // <= 0: off
    if (scheddetail && !c.scheddetail) c.scheddetail = *scheddetail > 0;
    if (asyncpreemptoff && c.hard_preempt) c.hard_preempt = *asyncpreemptoff == 0;  // Go: != 0 is off
  }
  return c;
}

}  // namespace gort::detail
