// log.cpp - spdlog behind log.hpp.
#include "gort/scheduler/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace gort::detail {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto existing = spdlog::get("gort");  // an application may have registered its own
    if (existing) return existing;
    auto lg = spdlog::stderr_color_mt("gort");
    lg->set_level(spdlog::level::trace);  // filtering happens in log_enabled
    return lg;
  }();
  return *l;
}

LogLevel parse_level(const char* s) {
  if (!s) return LogLevel::info;
  std::string v = s;
  if (v == "trace") return LogLevel::trace;
  if (v == "debug") return LogLevel::debug;
  if (v == "info") return LogLevel::info;
  if (v == "warn" || v == "warning") return LogLevel::warn;
  if (v == "error" || v == "err") return LogLevel::err;
  if (v == "critical") return LogLevel::critical;
  if (v == "off") return LogLevel::off;
  return LogLevel::info;
}

struct Init {
  Init() { log_init(); }
} g_init;
}  // namespace

void log_init() noexcept { g_level.store(static_cast<int>(parse_level(std::getenv("GORT_LOG_LEVEL")))); }

bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed) && level != LogLevel::off;
}

void log_write(LogLevel level, const char* msg) noexcept {
  try {
    logger().log(static_cast<spdlog::level::level_enum>(static_cast<int>(level)), msg);
  } catch (...) {
    std::fprintf(stderr, "gort: %s\n", msg);
  }
}

}  // namespace gort::detail
