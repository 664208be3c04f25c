# gort_add_fuzzer(name SOURCES file... [MAX_LEN n] [DICT file] [RUNTIME])
#
# A libFuzzer target: ${GORT_BIN_DIR}/fuzz_<name>, linked with
# -fsanitize=fuzzer,address,undefined against the instrumented library, and
# next to it fuzz_<name>.options (OSS-Fuzz's format: max_len, dict), which
# tools/fuzz-run reads. Its seed corpus is fuzz/corpus/<name>/.
#
#   MAX_LEN  the longest input libFuzzer makes (default 4096)
#   DICT     a libFuzzer dictionary (tokens of the format), copied next to it
#   RUNTIME  every input runs on a fiber of one gort runtime started once per
#            process (fuzz/support/gort_main.cpp) instead of on a plain thread;
#            libFuzzer's per-input leak check is off for it (see below)
#
# Only with GORT_FUZZ=ON (cmake/gort_options.cmake).
function(gort_add_fuzzer name)
  cmake_parse_arguments(PARSE_ARGV 1 F "RUNTIME" "MAX_LEN;DICT" "SOURCES")
  if(NOT F_SOURCES)
    message(FATAL_ERROR "gort_add_fuzzer(${name}): no SOURCES")
  endif()
  if(NOT F_MAX_LEN)
    set(F_MAX_LEN 4096)
  endif()
  set(target fuzz_${name})
  add_executable(${target} ${F_SOURCES})
  gort_set_target_options(${target})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz)
  target_link_libraries(${target} PRIVATE gort::gort)
  if(F_RUNTIME)
    # Our own main (gort::run around LLVMFuzzerRunDriver) and libFuzzer
    # without its main.
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz/support/gort_main.cpp)
    target_link_libraries(${target} PRIVATE ${GORT_FUZZER_NO_MAIN})
  else()
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  endif()
  set(options "[libfuzzer]\nmax_len = ${F_MAX_LEN}\n")
  if(F_RUNTIME)
    # libFuzzer's per-input leak check brackets each input with
    # __lsan_disable/__lsan_enable, which count per thread; an input that
    # parks may resume its fiber on another thread, and LSan then aborts
    # ("Unmatched call to __lsan_enable"). ASan's leak check at exit stays on.
    string(APPEND options "detect_leaks = 0\n")
  endif()
  if(F_DICT)
    get_filename_component(dict "${F_DICT}" ABSOLUTE)
    configure_file(${dict} ${GORT_BIN_DIR}/${target}.dict COPYONLY)
    string(APPEND options "dict = ${target}.dict\n")
  endif()
  file(GENERATE OUTPUT ${GORT_BIN_DIR}/${target}.options CONTENT "${options}")
endfunction()

if(GORT_FUZZ)
  # libFuzzer without main(), for RUNTIME targets (Debian: libclang-rt-14-dev).
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} --print-resource-dir
                  OUTPUT_VARIABLE resource_dir OUTPUT_STRIP_TRAILING_WHITESPACE)
  find_file(GORT_FUZZER_NO_MAIN NAMES libclang_rt.fuzzer_no_main-${CMAKE_SYSTEM_PROCESSOR}.a
            PATHS ${resource_dir}/lib/linux NO_DEFAULT_PATH)
  if(NOT GORT_FUZZER_NO_MAIN)
    message(FATAL_ERROR "libclang_rt.fuzzer_no_main not found under ${resource_dir}: apt-get install libclang-rt-14-dev")
  endif()
endif()
