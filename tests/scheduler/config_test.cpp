// GOMAXPROCS, cgroup CPU limits and environment resolution (config.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "gort/scheduler/config.hpp"

namespace gort::detail {
// Test seam defined in scheduler/src/config.cpp (not part of config.hpp):
// cgroup_cpu_limit() over given /proc/self/cgroup and /proc/self/mountinfo
// contents, reading cgroup files through `read`.
using CgroupFileReader = std::function<std::optional<std::string>(const std::string& path)>;
std::optional<double> cgroup_cpu_limit_from(std::string_view proc_self_cgroup, std::string_view mountinfo,
                                            const CgroupFileReader& read);
}  // namespace gort::detail

using namespace gort::detail;

namespace {

// Sets (or unsets, for null) an environment variable for one scope.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~EnvVar() {
    if (old_) setenv(name_, old_->c_str(), 1); else unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// None of the variables resolve_config reads, for one scope.
struct CleanEnv {
  EnvVar a{"GOMAXPROCS", nullptr};
  EnvVar b{"GORT_STACK_SIZE", nullptr};
  EnvVar c{"GORT_DEBUG", nullptr};
};

// What resolve_config picks from the machine alone.
int machine_default() { return std::min(default_gomaxprocs(affinity_cpus(), cgroup_cpu_limit()), 256); }

// An in-memory cgroup filesystem.
struct FakeFs {
  std::map<std::string, std::string> files;
  std::optional<double> limit(std::string_view cgroup, std::string_view mountinfo) const {
    return cgroup_cpu_limit_from(cgroup, mountinfo, [this](const std::string& p) -> std::optional<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return std::nullopt;
      return it->second;
    });
  }
};

constexpr const char* kV2Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

constexpr const char* kV1Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "31 22 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "32 31 0:29 / /opt/cg/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

}  // namespace

TEST_CASE("cgroup v2 cpu.max parsing", "[scheduler][config]") {
  REQUIRE_FALSE(parse_cgroup2_cpu_max("max 100000").has_value());
  REQUIRE_FALSE(parse_cgroup2_cpu_max("max 100000\n").has_value());
  REQUIRE(parse_cgroup2_cpu_max("150000 100000") == 1.5);
  REQUIRE(parse_cgroup2_cpu_max("150000 100000\n") == 1.5);
  REQUIRE(parse_cgroup2_cpu_max("50000 100000") == 0.5);
  REQUIRE(parse_cgroup2_cpu_max("1000 1000000\n") == 0.001);
  REQUIRE(parse_cgroup2_cpu_max("400000 100000\n") == 4.0);

  SECTION("malformed") {
    for (const char* bad : {"", "\n", "max", "150000", "150000\n", "abc 100000", "150000 abc", "1 2 3",
                            "150000  100000", " 150000 100000", "150000 100000\n\n", "+150000 100000",
                            "1.5 1", "150000 100000x", "99999999999999999999 100000"}) {
      INFO("cpu.max=\"" << bad << "\"");
      REQUIRE_FALSE(parse_cgroup2_cpu_max(bad).has_value());
    }
  }
  SECTION("zero or negative period or quota") {
    REQUIRE_FALSE(parse_cgroup2_cpu_max("150000 0").has_value());
    REQUIRE_FALSE(parse_cgroup2_cpu_max("150000 -100000").has_value());
    REQUIRE_FALSE(parse_cgroup2_cpu_max("0 100000").has_value());
    REQUIRE_FALSE(parse_cgroup2_cpu_max("-1 100000").has_value());
  }
}

TEST_CASE("cgroup v1 quota parsing", "[scheduler][config]") {
  REQUIRE_FALSE(parse_cgroup1_quota(-1, 100000).has_value());
  REQUIRE(parse_cgroup1_quota(50000, 100000) == 0.5);
  REQUIRE(parse_cgroup1_quota(400000, 100000) == 4.0);
  REQUIRE(parse_cgroup1_quota(150000, 100000) == 1.5);
  REQUIRE_FALSE(parse_cgroup1_quota(0, 100000).has_value());
  REQUIRE_FALSE(parse_cgroup1_quota(50000, 0).has_value());
  REQUIRE_FALSE(parse_cgroup1_quota(50000, -5).has_value());
  REQUIRE_FALSE(parse_cgroup1_quota(-1, -1).has_value());
}

TEST_CASE("default GOMAXPROCS follows Go 1.25's cgroup rule", "[scheduler][config]") {
  struct Row {
    int ncpu;
    std::optional<double> limit;
    int want;
  };
  const Row rows[] = {
      {8, std::nullopt, 8},  // no limit: the CPUs
      {1, std::nullopt, 1},
      {100000, std::nullopt, 100000},  // no cap here; resolve_config caps
      {8, 3.0, 3},
      {8, 2.5, 3},   // fractions round up
      {8, 2.01, 3},
      {8, 0.5, 2},   // a limit never goes below 2...
      {8, 1.0, 2},
      {8, 0.001, 2},
      {8, 0.0, 2},
      {2, 0.5, 2},
      {1, 0.5, 1},   // ...nor above the CPUs
      {1, 4.0, 1},
      {3, 2.5, 3},
      {4, 16.0, 4},
      {4, 4.0, 4},
      {4, 1e300, 4},
      {0, std::nullopt, 1},  // at least 1
      {-3, 0.5, 1},
  };
  for (const Row& r : rows) {
    INFO("ncpu=" << r.ncpu << " limit=" << (r.limit ? std::to_string(*r.limit) : "none"));
    REQUIRE(default_gomaxprocs(r.ncpu, r.limit) == r.want);
  }
}

TEST_CASE("the machine's CPUs and cgroup limit are sane", "[scheduler][config]") {
  REQUIRE(affinity_cpus() >= 1);
  std::optional<double> limit;
  REQUIRE_NOTHROW(limit = cgroup_cpu_limit());
  if (limit) REQUIRE(*limit > 0);
}

TEST_CASE("cgroup v2: cpu.max of the cgroup and its parents, the tightest wins", "[scheduler][config]") {
  const char* cgroup = "0::/kubepods/pod1/ctr\n";
  FakeFs fs;
  SECTION("no cpu.max anywhere") { REQUIRE_FALSE(fs.limit(cgroup, kV2Mountinfo).has_value()); }
  SECTION("leaf limit") {
    fs.files["/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "150000 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/pod1/cpu.max"] = "max 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/cpu.max"] = "max 100000\n";
    REQUIRE(fs.limit(cgroup, kV2Mountinfo) == 1.5);
  }
  SECTION("a parent is tighter") {
    fs.files["/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "400000 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/pod1/cpu.max"] = "50000 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/cpu.max"] = "800000 100000\n";
    REQUIRE(fs.limit(cgroup, kV2Mountinfo) == 0.5);
  }
  SECTION("only a parent has a limit (the leaf's file is missing or max)") {
    fs.files["/sys/fs/cgroup/kubepods/cpu.max"] = "200000 100000\n";
    REQUIRE(fs.limit(cgroup, kV2Mountinfo) == 2.0);
    fs.files["/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "max 100000\n";
    REQUIRE(fs.limit(cgroup, kV2Mountinfo) == 2.0);
  }
  SECTION("a malformed file anywhere: unknown") {
    fs.files["/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "150000 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/cpu.max"] = "garbage\n";
    REQUIRE_FALSE(fs.limit(cgroup, kV2Mountinfo).has_value());
  }
  SECTION("root cgroup") {
    fs.files["/sys/fs/cgroup/cpu.max"] = "300000 100000\n";
    REQUIRE(fs.limit("0::/\n", kV2Mountinfo) == 3.0);
  }
  SECTION("cgroup namespace: the container sees itself at /") {
    fs.files["/sys/fs/cgroup/cpu.max"] = "250000 100000\n";
    REQUIRE(fs.limit("0::/\n", "30 22 0:26 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n") == 2.5);
  }
  SECTION("the mount point comes from mountinfo, escapes undone") {
    fs.files["/run/my cg/kubepods/pod1/ctr/cpu.max"] = "100000 100000\n";
    REQUIRE(fs.limit(cgroup, "30 22 0:26 / /run/my\\040cg rw - cgroup2 none rw\n") == 1.0);
  }
  SECTION("a mount of a subtree: its root is stripped from the path") {
    fs.files["/mnt/pod/ctr/cpu.max"] = "70000 100000\n";
    fs.files["/mnt/pod/cpu.max"] = "90000 100000\n";
    fs.files["/sys/fs/cgroup/kubepods/cpu.max"] = "10000 100000\n";  // above the mount: not visible
    REQUIRE(fs.limit(cgroup, "30 22 0:26 /kubepods/pod1 /mnt/pod rw - cgroup2 cgroup2 rw\n") == 0.7);
  }
  SECTION("no cgroup2 mount, no v2 line, or a v1-only line without cpu") {
    fs.files["/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max"] = "150000 100000\n";
    REQUIRE_FALSE(fs.limit(cgroup, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n").has_value());
    REQUIRE_FALSE(fs.limit("", kV2Mountinfo).has_value());
    REQUIRE_FALSE(fs.limit("5:memory:/kubepods/pod1/ctr\n", kV2Mountinfo).has_value());
  }
  SECTION("garbage input does not throw") {
    REQUIRE_FALSE(fs.limit("::::\n0:\n\n", "- - - -\n1 2 3\n\\\\\n").has_value());
    REQUIRE_FALSE(fs.limit("0::relative\n", kV2Mountinfo).has_value());
  }
}

TEST_CASE("cgroup v1: the cpu controller's mount, quota/period, parents", "[scheduler][config]") {
  // Hybrid layout: the v1 cpu hierarchy takes precedence over the 0:: line.
  const char* cgroup =
      "9:name=systemd:/docker/abc\n"
      "4:cpu,cpuacct:/docker/abc\n"
      "3:cpuset:/docker/abc\n"
      "0::/docker/abc\n";
  FakeFs fs;
  SECTION("quota/period at the mount point from mountinfo, not /sys/fs/cgroup/cpu") {
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us"] = "50000\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "100000\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/cpu.cfs_quota_us"] = "-1\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/cpu.cfs_period_us"] = "100000\n";
    fs.files["/opt/cg/cpu,cpuacct/cpu.cfs_quota_us"] = "-1\n";
    fs.files["/opt/cg/cpu,cpuacct/cpu.cfs_period_us"] = "100000\n";
    fs.files["/sys/fs/cgroup/unified/docker/abc/cpu.max"] = "10000 100000\n";  // v2: ignored
    REQUIRE(fs.limit(cgroup, kV1Mountinfo) == 0.5);
  }
  SECTION("unlimited everywhere") {
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us"] = "-1\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "100000\n";
    REQUIRE_FALSE(fs.limit(cgroup, kV1Mountinfo).has_value());
  }
  SECTION("a parent is tighter") {
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us"] = "300000\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "100000\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/cpu.cfs_quota_us"] = "100000\n";
    fs.files["/opt/cg/cpu,cpuacct/docker/cpu.cfs_period_us"] = "50000\n";
    REQUIRE(fs.limit(cgroup, kV1Mountinfo) == 2.0);
  }
  SECTION("quota without a readable period, or a bad period: unknown") {
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_quota_us"] = "50000\n";
    REQUIRE_FALSE(fs.limit(cgroup, kV1Mountinfo).has_value());
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "0\n";
    REQUIRE_FALSE(fs.limit(cgroup, kV1Mountinfo).has_value());
    fs.files["/opt/cg/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "x\n";
    REQUIRE_FALSE(fs.limit(cgroup, kV1Mountinfo).has_value());
  }
  SECTION("container without a cgroup namespace: mount root /docker/abc") {
    fs.files["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"] = "150000\n";
    fs.files["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us"] = "100000\n";
    REQUIRE(fs.limit(cgroup,
                     "1 0 0:1 / / rw - overlay overlay rw\n"
                     "2 1 0:2 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpuacct,cpu\n") ==
            1.5);
  }
  SECTION("cpu controller line but no v1 cpu mount: unknown") {
    fs.files["/sys/fs/cgroup/unified/docker/abc/cpu.max"] = "10000 100000\n";
    REQUIRE_FALSE(fs.limit(cgroup, "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n").has_value());
  }
  SECTION("cpuacct or cpuset alone is not cpu") {
    fs.files["/a/docker/abc/cpu.cfs_quota_us"] = "50000\n";
    fs.files["/a/docker/abc/cpu.cfs_period_us"] = "100000\n";
    REQUIRE_FALSE(fs.limit("2:cpuacct:/docker/abc\n", "2 1 0:2 / /a rw - cgroup cgroup rw,cpuacct\n").has_value());
  }
}

TEST_CASE("GOMAXPROCS from the config, the environment, or the machine", "[scheduler][config]") {
  CleanEnv clean;
  REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == machine_default());
  {
    EnvVar e("GOMAXPROCS", "3");
    REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == 3);
    SchedConfig c;
    c.gomaxprocs = 5;
    REQUIRE(resolve_config(c).gomaxprocs == 5);  // explicit wins
  }
  {
    EnvVar e("GOMAXPROCS", "1");
    REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == 1);
  }
  SECTION("capped at 256") {
    EnvVar e("GOMAXPROCS", "100000");
    REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == 256);
    SchedConfig c;
    c.gomaxprocs = 1000;
    REQUIRE(resolve_config(c).gomaxprocs == 256);
  }
  SECTION("not a positive int32: the machine's default") {
    for (const char* bad : {"0", "-2", "abc", "", "2x", " 3", "3 ", "+3", "3.0", "99999999999"}) {
      EnvVar e("GOMAXPROCS", bad);
      INFO("GOMAXPROCS=\"" << bad << "\"");
      REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == machine_default());
    }
  }
  SECTION("a negative explicit value means unset") {
    EnvVar e("GOMAXPROCS", "7");
    SchedConfig c;
    c.gomaxprocs = -1;
    REQUIRE(resolve_config(c).gomaxprocs == 7);
  }
}

TEST_CASE("GORT_STACK_SIZE accepts k/m suffixes", "[scheduler][config]") {
  CleanEnv clean;
  REQUIRE(resolve_config(SchedConfig{}).stack_size == 256 * 1024);
  struct Row {
    const char* env;
    std::size_t want;
  };
  const Row rows[] = {
      {"512k", 512 * 1024},
      {"512K", 512 * 1024},
      {"2m", 2 * 1024 * 1024},
      {"2M", 2 * 1024 * 1024},
      {"65536", 65536},
      {"1024KiB", 1024 * 1024},
      // malformed or zero: the default
      {"", 256 * 1024},
      {"lots", 256 * 1024},
      {"k", 256 * 1024},
      {"0", 256 * 1024},
      {"0k", 256 * 1024},
      {"-1", 256 * 1024},
      {"-1k", 256 * 1024},
      {"+64k", 256 * 1024},
      {" 64k", 256 * 1024},
      {"64k ", 256 * 1024},
      {"64kb", 256 * 1024},
      {"64g", 256 * 1024},
      {"1.5m", 256 * 1024},
      {"99999999999999999999", 256 * 1024},
      {"999999999999999999m", 256 * 1024},  // overflows size_t
  };
  for (const Row& r : rows) {
    EnvVar e("GORT_STACK_SIZE", r.env);
    INFO("GORT_STACK_SIZE=\"" << r.env << "\"");
    REQUIRE(resolve_config(SchedConfig{}).stack_size == r.want);
  }
  SECTION("an explicit size wins") {
    EnvVar e("GORT_STACK_SIZE", "512k");
    SchedConfig c;
    c.stack_size = 64 * 1024;
    REQUIRE(resolve_config(c).stack_size == 64 * 1024);
  }
}

TEST_CASE("GORT_DEBUG is parsed like GODEBUG", "[scheduler][config]") {
  CleanEnv clean;
  SECTION("unset: defaults") {
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 0);
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE(c.hard_preempt);
  }
  SECTION("all keys, unknown ones ignored") {
    EnvVar e("GORT_DEBUG", "schedtrace=1000,scheddetail=1,asyncpreemptoff=1,unknown=3,gctrace=1");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 1000);
    REQUIRE(c.scheddetail);
    REQUIRE_FALSE(c.hard_preempt);
  }
  SECTION("one key alone") {
    EnvVar e("GORT_DEBUG", "schedtrace=50");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 50);
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE(c.hard_preempt);
  }
  SECTION("malformed entries and values are ignored") {
    EnvVar e("GORT_DEBUG", "schedtrace=,=5,scheddetail,asyncpreemptoff=yes,schedtrace=1e3,,schedtrace=-1");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 0);
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE(c.hard_preempt);
  }
  SECTION("a malformed entry does not hide the good ones") {
    EnvVar e("GORT_DEBUG", "schedtrace=abc,scheddetail=1, asyncpreemptoff=1,schedtrace=20");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 20);
    REQUIRE(c.scheddetail);
    REQUIRE(c.hard_preempt);  // " asyncpreemptoff" is not a known key
  }
  SECTION("later settings override earlier ones, as in Go") {
    EnvVar e("GORT_DEBUG", "schedtrace=100,scheddetail=1,asyncpreemptoff=1,schedtrace=200,scheddetail=0,"
                           "asyncpreemptoff=0");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 200);
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE(c.hard_preempt);
  }
  SECTION("Go's truth values: scheddetail > 0, asyncpreemptoff != 0") {
    EnvVar e("GORT_DEBUG", "scheddetail=-1,asyncpreemptoff=2");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE_FALSE(c.hard_preempt);
  }
  SECTION("the environment only fills fields left at their defaults") {
    EnvVar e("GORT_DEBUG", "schedtrace=1000,scheddetail=0,asyncpreemptoff=0");
    SchedConfig in;
    in.schedtrace_ms = 10;
    in.scheddetail = true;
    in.hard_preempt = false;
    SchedConfig c = resolve_config(in);
    REQUIRE(c.schedtrace_ms == 10);
    REQUIRE(c.scheddetail);
    REQUIRE_FALSE(c.hard_preempt);
  }
  SECTION("other fields pass through") {
    SchedConfig in;
    in.exit_grace_ns = 42;
    REQUIRE(resolve_config(in).exit_grace_ns == 42);
  }
}

TEST_CASE("the EnvVar test helper restores the environment", "[scheduler][config]") {
  const char* before = std::getenv("GOMAXPROCS");
  std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
  { EnvVar e("GOMAXPROCS", "2"); }
  const char* after = std::getenv("GOMAXPROCS");
  REQUIRE((after ? std::optional<std::string>(after) : std::nullopt) == saved);
}
