# Options and the single place where compiler flags are set.
include(GNUInstallDirs)

macro(gort_option name doc default)
  if(NOT DEFINED ${name})
    option(${name} "${doc}" ${default})
  endif()
endmacro()

set(GORT_IS_TOP_LEVEL ${PROJECT_IS_TOP_LEVEL})
# GORT_FUZZ: the libFuzzer targets under fuzz/ (Clang only; README.md,
# "Fuzzing"). The library is built with ASan+UBSan and coverage
# instrumentation; tests, samples and benchmarks are off unless asked for.
gort_option(GORT_FUZZ "Build the libFuzzer targets (Clang)" OFF)
if(GORT_FUZZ)
  set(GORT_BUILD_DEFAULT OFF)
else()
  set(GORT_BUILD_DEFAULT ${GORT_IS_TOP_LEVEL})
endif()
gort_option(GORT_BUILD_TESTS "Build the tests" ${GORT_BUILD_DEFAULT})
gort_option(GORT_BUILD_SAMPLES "Build the samples" ${GORT_BUILD_DEFAULT})
gort_option(GORT_BUILD_BENCHMARKS "Build the benchmarks" ${GORT_BUILD_DEFAULT})
if(GORT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GORT_FUZZ needs Clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  set(GORT_SANITIZE "address,undefined" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
  # Coverage for libFuzzer in every object (the library too); only the fuzz
  # targets link the fuzzer runtime (-fsanitize=fuzzer, fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
set(GORT_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
# Every executable goes to build/bin/. A second build tree (the sanitizer
# build) can point there too and tell its executables apart with a suffix.
set(GORT_BIN_DIR "${CMAKE_BINARY_DIR}/bin" CACHE PATH "Where executables are written")
set(GORT_EXE_SUFFIX "" CACHE STRING "Suffix for executable names (e.g. -asan)")

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${GORT_BIN_DIR})
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

if(GORT_SANITIZE)
  # Fiber switches are annotated for ASan (scheduler/.../context.hpp) and for
  # TSan (GORT_SANITIZE=thread: scheduler/.../tsan_fiber.hpp; `make test-tsan`).
  # detect_stack_use_after_return stays off by default (see docs/scheduler.md).
  # -fno-sanitize=vptr: UBSan's dynamic-type check reads a vtable through a
  # pipe (sanitizer_common IsAccessibleMemoryRange); a process out of file
  # descriptors (the EMFILE test does that on purpose) then reports live
  # objects as "invalid vptr", and that report cannot be suppressed.
  add_compile_options(-fsanitize=${GORT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  if(GORT_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize=vptr)
  endif()
  add_link_options(-fsanitize=${GORT_SANITIZE})
endif()

# Link-time optimisation for optimised builds: the per-message path crosses
# net/ -> poller/ -> scheduler/ translation units (read, poll_wait, park,
# switch), and inlining across them takes ~15 % of the runtime's instructions
# off an echo round trip (docs/benchmarks.md). The library's objects are fat
# (-ffat-lto-objects): they carry machine code too, so programs linked
# without -flto (an installed libgort.a's consumers) link as before.
# Thread-local state stays behind non-inlinable accessors (noipa), so LTO
# cannot cache a TLS address across a fiber switch.
if(NOT GORT_SANITIZE AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$")
  set(GORT_LTO_DEFAULT ON)
else()
  set(GORT_LTO_DEFAULT OFF)
endif()
gort_option(GORT_LTO "Link-time optimisation (optimised builds)" ${GORT_LTO_DEFAULT})

# GORT_THREAD_SAFETY: clang's thread-safety analysis as errors, so that the
# lock annotations (scheduler/.../thread_annotations.hpp: which lock guards
# which field, which function needs which lock held, the lock order) are
# checked on every build with it (`make check-thread-safety`). Compile-time
# only: the code is the same with it off.
gort_option(GORT_THREAD_SAFETY "clang -Wthread-safety as errors" OFF)
if(GORT_THREAD_SAFETY AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "GORT_THREAD_SAFETY needs Clang: -DCMAKE_CXX_COMPILER=clang++-14")
endif()

function(gort_set_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers)
  if(GORT_THREAD_SAFETY)
    # -beta adds the lock-order checks (GORT_ACQUIRED_BEFORE).
    target_compile_options(${target} PRIVATE -Wthread-safety -Wthread-safety-beta
                                             -Werror=thread-safety -Werror=thread-safety-beta)
  endif()
  if(GORT_LTO)
    target_compile_options(${target} PRIVATE -flto=auto -ffat-lto-objects)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      # -Wno-stringop-overflow: GCC 12 flags the dead size cases of
      # chan.cpp's move_elem once inlined into a channel of one element type
      # (a known false positive of that warning; pragmas do not reach the
      # link-time compiler).
      target_link_options(${target} PRIVATE -flto=auto -Wno-stringop-overflow)
    endif()
  endif()
endfunction()

# An executable under build/bin/ with the configured suffix.
function(gort_add_executable name)
  add_executable(${name} ${ARGN})
  set_target_properties(${name} PROPERTIES OUTPUT_NAME "${name}${GORT_EXE_SUFFIX}")
  gort_set_target_options(${name})
endfunction()
