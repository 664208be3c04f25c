// log.hpp - the runtime's logger: spdlog logger "gort" (the only spdlog user
// is log.cpp). Level from GORT_LOG_LEVEL (trace, debug, info, warn, error,
// critical, off; default info). Never called on a hot path.
#pragma once

#include <cstdio>

namespace gort::detail {

enum class LogLevel { trace, debug, info, warn, err, critical, off };

bool log_enabled(LogLevel level) noexcept;
void log_write(LogLevel level, const char* msg) noexcept;
// Re-reads GORT_LOG_LEVEL (called by gort::run).
void log_init() noexcept;

template <class... A>
void log_printf(LogLevel level, const char* fmt, A... args) noexcept {
  if (!log_enabled(level)) return;
  char buf[1024];
  if constexpr (sizeof...(A) == 0) {
    std::snprintf(buf, sizeof buf, "%s", fmt);
  } else {
    std::snprintf(buf, sizeof buf, fmt, args...);
  }
  log_write(level, buf);
}
template <class... A> void log_debug(const char* f, A... a) noexcept { log_printf(LogLevel::debug, f, a...); }
template <class... A> void log_info(const char* f, A... a) noexcept { log_printf(LogLevel::info, f, a...); }
template <class... A> void log_warn(const char* f, A... a) noexcept { log_printf(LogLevel::warn, f, a...); }
template <class... A> void log_error(const char* f, A... a) noexcept { log_printf(LogLevel::err, f, a...); }

}  // namespace gort::detail
