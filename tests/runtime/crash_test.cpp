// Fatal paths: an escaping exception, stack overflows. Run in a child process.
#include <catch2/catch.hpp>

#include <csignal>
#include <regex>

#include "../support/subprocess.hpp"

using gort::test::run_process;

TEST_CASE("an exception escaping a fiber ends the process like a Go panic", "[runtime][fatal]") {
  auto r = run_process(GORT_TEST_HELPER, {"panic"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.output.find("panic: std::runtime_error: boom") != std::string::npos);
  REQUIRE(r.output.find("fiber 2 [running]") != std::string::npos);
}

TEST_CASE("stack overflow is reported with the fiber's id", "[runtime][fatal]") {
  auto guard = GENERATE(as<std::string>{}, "auto", "mprotect");
  auto r = run_process(GORT_TEST_HELPER, {"overflow"}, {"GORT_STACK_GUARD=" + guard});
  INFO("GORT_STACK_GUARD=" << guard << "\n" << r.output);
  REQUIRE(r.exit_code != 0);
  bool ours = r.output.find("fatal error: stack overflow in fiber 2") != std::string::npos;
  bool asan = r.output.find("AddressSanitizer: stack-overflow") != std::string::npos;
  REQUIRE((ours || asan));
  if (ours) REQUIRE(r.signal == SIGSEGV);
}

TEST_CASE("an overflow that skipped the guard is caught by the canary", "[runtime][fatal]") {
  auto r = run_process(GORT_TEST_HELPER, {"canary"}, {"GORT_STACK_GUARD=none"});
  INFO(r.output);
  REQUIRE(r.signal == SIGABRT);
  REQUIRE(r.output.find("fatal error: stack overflow in fiber 2 (stack canary overwritten") != std::string::npos);
}

TEST_CASE("GORT_DEBUG=schedtrace prints Go's scheduler trace line", "[runtime][observability]") {
  auto r = run_process(GORT_TEST_HELPER, {"schedtrace"}, {"GORT_DEBUG=schedtrace=50", "GOMAXPROCS=2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 1);  // the helper's main returns 1 after its work
  std::regex line(R"(SCHED \d+ms: gomaxprocs=2 idleprocs=\d+ threads=\d+ spinningthreads=\d+ needspinning=\d+ idlethreads=\d+ runqueue=\d+ \[\d+ \d+\])");
  REQUIRE(std::regex_search(r.output, line));

  auto d = run_process(GORT_TEST_HELPER, {"schedtrace"}, {"GORT_DEBUG=schedtrace=50,scheddetail=1", "GOMAXPROCS=2"});
  INFO(d.output);
  REQUIRE(d.output.find("  P0: status=") != std::string::npos);
  REQUIRE(d.output.find("  M") != std::string::npos);
  REQUIRE(std::regex_search(d.output, std::regex(R"(  G1: status=\d\()")));
}
