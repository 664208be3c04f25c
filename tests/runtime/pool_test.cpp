// gort::Pool: per-P LIFO caches of reusable objects (Go: sync.Pool).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "gort/gort.hpp"
#include "gort/pool.hpp"

namespace {
std::atomic<int> g_live{0};
struct Obj {
  Obj() { g_live++; }
  ~Obj() { g_live--; }
  int value = 0;
};
}  // namespace

TEST_CASE("pool: get reuses what this P put last, bounded per P, usable from threads", "[runtime][pool]") {
  g_live = 0;
  {
    gort::Pool<Obj> pool([] { return std::make_unique<Obj>(); }, 2);
    gort::run(gort::Config{.gomaxprocs = 1}, [&] {
      auto a = pool.get();
      auto b = pool.get();
      REQUIRE(a.get() != b.get());
      Obj* pa = a.get();
      Obj* pb = b.get();
      a->value = 7;
      pool.put(std::move(a));
      pool.put(std::move(b));
      REQUIRE(pool.get().get() == pb);  // LIFO: the warmest first
      auto again = pool.get();
      REQUIRE(again.get() == pa);
      REQUIRE(again->value == 7);  // objects come back as they were put
      pool.put(std::move(again));
      // Beyond per_p = 2, puts delete.
      auto x = pool.get(), y = pool.get(), z = pool.get();
      int live = g_live;
      pool.put(std::move(x));
      pool.put(std::move(y));
      pool.put(std::move(z));
      REQUIRE(g_live == live - 1);
      // Fibers and a plain thread share the pool safely.
      gort::WaitGroup wg;
      for (int f = 0; f < 8; f++) {
        wg.add(1);
        gort::go([&] {
          for (int i = 0; i < 1000; i++) {
            auto o = pool.get();
            o->value++;
            if (i % 7 == 0) gort::yield();
            pool.put(std::move(o));
          }
          wg.done();
        });
      }
      std::thread t([&] {
        for (int i = 0; i < 1000; i++) pool.put(pool.get());
      });
      wg.wait();
      t.join();
    });
  }
  REQUIRE(g_live == 0);  // the pool's destructor deletes what it kept
}
