// config.hpp - runtime settings resolved once per gort::run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gort::detail {

struct SchedConfig {
  int gomaxprocs = 0;             // 0: GOMAXPROCS env, else CPUs (affinity, cgroup quota)
  std::size_t stack_size = 0;     // 0: GORT_STACK_SIZE env, else 256 KiB
  int schedtrace_ms = 0;          // GORT_DEBUG=schedtrace=N
  bool scheddetail = false;       // GORT_DEBUG=scheddetail=1
  bool hard_preempt = true;       // GORT_DEBUG=asyncpreemptoff=1 disables the SIGURG retake
  std::int64_t exit_grace_ns = 100'000'000;  // how long run() waits for M's still running fibers
};

// Fills the zero fields of `c` from the environment (GOMAXPROCS, GORT_DEBUG,
// GORT_STACK_SIZE) and the machine.
SchedConfig resolve_config(SchedConfig c);

// Go's NumCPU: CPUs in this process's affinity mask.
int affinity_cpus() noexcept;
// CPU limit of this process's cgroup (v2 cpu.max or v1 cfs quota/period),
// as a fraction of CPUs; nullopt when unlimited or unknown.
std::optional<double> cgroup_cpu_limit();
// Parsers behind cgroup_cpu_limit, exposed for tests.
std::optional<double> parse_cgroup2_cpu_max(std::string_view contents);
std::optional<double> parse_cgroup1_quota(long long quota_us, long long period_us);
// The default GOMAXPROCS for ncpu CPUs and an optional cgroup limit.
int default_gomaxprocs(int ncpu, std::optional<double> limit);

}  // namespace gort::detail
