// gort_main.cpp - main() for fuzz targets declared RUNTIME
// (cmake/gort_fuzz.cmake): libFuzzer's driver runs as gort's main fiber, so
// LLVMFuzzerTestOneInput may start fibers, park, use channels, timers and
// sockets, and must wait for what it started before returning. One runtime
// serves the whole process (starting one per input would dominate the cost).
// libFuzzer ends the process itself (exit) when it is done or finds something.
#include <cstddef>
#include <cstdint>

#include "gort/run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*cb)(const std::uint8_t*, std::size_t));

int main(int argc, char** argv) {
  // libFuzzer's loop and ASan's frames need more than the default 256 KiB.
  gort::Config config{.gomaxprocs = 0, .stack_size = std::size_t{8} << 20};
  return gort::run(config, [&] { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); });
}
