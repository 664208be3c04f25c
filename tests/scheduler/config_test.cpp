// GOMAXPROCS and environment resolution.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>

#include "gort/scheduler/config.hpp"

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

 private:
  const char* name_;
  std::optional<std::string> old_;
};
}  // namespace

TEST_CASE("cgroup v2 cpu.max parsing", "[scheduler][config]") {
  REQUIRE_FALSE(parse_cgroup2_cpu_max("max 100000\n").has_value());
  REQUIRE(parse_cgroup2_cpu_max("150000 100000\n") == 1.5);
  REQUIRE(parse_cgroup2_cpu_max("50000 100000") == 0.5);
  REQUIRE_FALSE(parse_cgroup2_cpu_max("").has_value());
  REQUIRE_FALSE(parse_cgroup2_cpu_max("150000").has_value());
  REQUIRE_FALSE(parse_cgroup2_cpu_max("abc 100000").has_value());
  REQUIRE_FALSE(parse_cgroup2_cpu_max("150000 0").has_value());
  REQUIRE_FALSE(parse_cgroup2_cpu_max("1 2 3").has_value());
}

TEST_CASE("cgroup v1 quota parsing", "[scheduler][config]") {
  REQUIRE_FALSE(parse_cgroup1_quota(-1, 100000).has_value());
  REQUIRE(parse_cgroup1_quota(50000, 100000) == 0.5);
  REQUIRE(parse_cgroup1_quota(400000, 100000) == 4.0);
  REQUIRE_FALSE(parse_cgroup1_quota(50000, 0).has_value());
  REQUIRE_FALSE(parse_cgroup1_quota(50000, -5).has_value());
}

TEST_CASE("default GOMAXPROCS follows Go 1.25's cgroup rule", "[scheduler][config]") {
  REQUIRE(default_gomaxprocs(8, std::nullopt) == 8);
  REQUIRE(default_gomaxprocs(8, 3.0) == 3);
  REQUIRE(default_gomaxprocs(8, 2.5) == 3);   // rounded up
  REQUIRE(default_gomaxprocs(8, 0.5) == 2);   // a limit never goes below 2...
  REQUIRE(default_gomaxprocs(1, 0.5) == 1);   // ...nor above the CPUs
  REQUIRE(default_gomaxprocs(4, 16.0) == 4);
  REQUIRE(default_gomaxprocs(0, std::nullopt) == 1);
  REQUIRE(default_gomaxprocs(100000, std::nullopt) == 256);
  REQUIRE(affinity_cpus() >= 1);
}

TEST_CASE("GOMAXPROCS from the config, the environment, or the machine", "[scheduler][config]") {
  {
    EnvVar e("GOMAXPROCS", "3");
    REQUIRE(resolve_config(SchedConfig{}).gomaxprocs == 3);
    SchedConfig c;
    c.gomaxprocs = 5;
    REQUIRE(resolve_config(c).gomaxprocs == 5);  // explicit wins
  }
  for (const char* bad : {"0", "-2", "abc", "", "2x"}) {
    EnvVar e("GOMAXPROCS", bad);
    INFO("GOMAXPROCS=" << bad);
    REQUIRE(resolve_config(SchedConfig{}).gomaxprocs ==
            default_gomaxprocs(affinity_cpus(), cgroup_cpu_limit()));
  }
}

TEST_CASE("GORT_STACK_SIZE accepts k/m suffixes", "[scheduler][config]") {
  {
    EnvVar e("GORT_STACK_SIZE", nullptr);
    REQUIRE(resolve_config(SchedConfig{}).stack_size == 256 * 1024);
  }
  {
    EnvVar e("GORT_STACK_SIZE", "512k");
    REQUIRE(resolve_config(SchedConfig{}).stack_size == 512 * 1024);
  }
  {
    EnvVar e("GORT_STACK_SIZE", "2M");
    REQUIRE(resolve_config(SchedConfig{}).stack_size == 2 * 1024 * 1024);
  }
  {
    EnvVar e("GORT_STACK_SIZE", "65536");
    REQUIRE(resolve_config(SchedConfig{}).stack_size == 65536);
  }
  {
    EnvVar e("GORT_STACK_SIZE", "lots");
    REQUIRE(resolve_config(SchedConfig{}).stack_size == 256 * 1024);
  }
}

TEST_CASE("GORT_DEBUG is parsed like GODEBUG", "[scheduler][config]") {
  {
    EnvVar e("GORT_DEBUG", "schedtrace=1000,scheddetail=1,asyncpreemptoff=1,unknown=3");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 1000);
    REQUIRE(c.scheddetail);
    REQUIRE_FALSE(c.hard_preempt);
  }
  {
    EnvVar e("GORT_DEBUG", "schedtrace=,=5,scheddetail,schedtrace=-1");
    SchedConfig c = resolve_config(SchedConfig{});
    REQUIRE(c.schedtrace_ms == 0);
    REQUIRE_FALSE(c.scheddetail);
    REQUIRE(c.hard_preempt);
  }
}
