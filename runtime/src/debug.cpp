// debug.cpp - see debug.hpp.
#include "gort/debug.hpp"

#include <cstdio>

#include "gort/poller/poll_desc.hpp"
#include "gort/scheduler/introspect.hpp"

namespace gort::debug {

namespace {

std::string_view state_of(const detail::FiberRecord& r) {
  switch (r.status) {
    case detail::GStatus::running: return "running";
    case detail::GStatus::runnable: return "runnable";
    case detail::GStatus::syscall: return "syscall";
    case detail::GStatus::waiting: return detail::to_string(r.reason);
    default: return detail::to_string(r.status);
  }
}

// 1h2m3s, 2m3s, 4.5s, 120ms (Go's time.Duration.String, coarser).
std::string human(std::chrono::nanoseconds d) {
  long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  char buf[64];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%lld.%llds", ms / 1000, (ms % 1000) / 100);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%llds", ms / 60'000, (ms % 60'000) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%lldm%llds", ms / 3'600'000, (ms % 3'600'000) / 60'000, (ms % 60'000) / 1000);
  }
  return buf;
}

}  // namespace

std::vector<Fiber> fibers() {
  std::vector<Fiber> out;
  for (const detail::FiberRecord& r : detail::snapshot_fibers()) {
    out.push_back(Fiber{r.id, state_of(r), r.status == detail::GStatus::waiting, std::chrono::nanoseconds(r.waiting),
                        r.is_main});
  }
  return out;
}

std::string fiber_dump() {
  std::string out;
  for (const Fiber& f : fibers()) {
    out += "fiber ";
    out += std::to_string(f.id);
    out += " [";
    out += f.state;
    if (f.waiting) {
      out += ", ";
      out += human(f.waited);
    }
    out += "]:";
    if (f.main) out += " main";
    out += '\n';
  }
  return out;
}

std::string sched_json() {
  detail::SchedRecord r;
  if (!detail::snapshot_sched(r)) return "{\"running\":false}";
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"running\":true,\"uptime_ms\":%lld,\"gomaxprocs\":%d,\"idleprocs\":%d,\"threads\":%d,"
                "\"spinningthreads\":%d,\"idlethreads\":%d,\"runqueue\":%zu,\"fibers\":%lld,\"fibers_created\":%llu,"
                "\"io_waiters\":%lld,\"steals\":%llu,\"preempt_requests\":%llu,\"retakes_syscall\":%llu,"
                "\"retakes_hog\":%llu,\"ps\":[",
                static_cast<long long>(r.uptime_ns / 1'000'000), r.gomaxprocs, r.idleprocs, r.threads, r.spinning,
                r.idlethreads, r.runqueue, static_cast<long long>(r.fibers),
                static_cast<unsigned long long>(r.fibers_created), static_cast<long long>(detail::poll_waiters()),
                static_cast<unsigned long long>(r.steals), static_cast<unsigned long long>(r.preempt_requests),
                static_cast<unsigned long long>(r.retakes_syscall), static_cast<unsigned long long>(r.retakes_hog));
  out += buf;
  for (std::size_t i = 0; i < r.ps.size(); i++) {
    const detail::PRecord& p = r.ps[i];
    std::snprintf(buf, sizeof buf,
                  "%s{\"id\":%d,\"status\":\"%s\",\"runqsize\":%u,\"timers\":%zu,\"gfreecnt\":%d,\"schedtick\":%u,"
                  "\"syscalltick\":%u,\"m\":%lld}",
                  i ? "," : "", p.id, detail::to_string(p.status), p.runq, p.timers, p.gfree, p.schedtick,
                  p.syscalltick, p.m);
    out += buf;
  }
  out += "],\"ms\":[";
  for (std::size_t i = 0; i < r.ms.size(); i++) {
    const detail::MRecord& m = r.ms[i];
    std::snprintf(buf, sizeof buf, "%s{\"id\":%llu,\"p\":%d,\"curg\":%lld,\"spinning\":%s,\"blocked\":%s}", i ? "," : "",
                  static_cast<unsigned long long>(m.id), m.p, m.curg, m.spinning ? "true" : "false",
                  m.blocked ? "true" : "false");
    out += buf;
  }
  out += "]}";
  return out;
}

}  // namespace gort::debug
