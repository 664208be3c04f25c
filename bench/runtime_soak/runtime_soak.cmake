# The runtime soak (bench/runtime_soak_run): bench/runtime_soak.cpp runs the
# workloads of bench/runtime_soak/ in rounds and checks their ledgers.
# Included from bench/CMakeLists.txt, so paths are relative to bench/.
gort_add_executable(runtime_soak runtime_soak.cpp runtime_soak/chans.cpp runtime_soak/timers.cpp
  runtime_soak/contexts.cpp runtime_soak/sync.cpp runtime_soak/conns.cpp)
target_link_libraries(runtime_soak PRIVATE gort::gort)
