// Fatal paths: an escaping exception, stack overflows. Run in a child process.
#include <catch2/catch.hpp>

#include <csignal>

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
