// Built against an installed gort: proves the headers, libgort.a and the
// CMake package are complete.
#include <gort/gort.hpp>

#include <atomic>
#include <cstdio>

int main() {
  return gort::run([] {
    std::atomic<int> sum{0};
    gort::WaitGroup wg;
    wg.add(100);
    for (int i = 0; i < 100; i++) {
      gort::go([&sum, &wg](int v) {
        sum += v;
        wg.done();
      }, i);
    }
    wg.wait();
    std::printf("consumer: 100 fibers, result %d\n", sum.load());
    return sum.load() == 4950 ? 0 : 1;
  });
}
