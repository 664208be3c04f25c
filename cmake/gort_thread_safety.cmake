# GORT_THREAD_SAFETY's self-test, at configure time: tests/tsa/negative.cpp
# compiles as is, and each of its GORT_TSA_NEGATIVE cases (known lock
# mistakes) fails with a thread-safety error. So an analysis that stopped
# seeing the locks (a guard the analysis cannot follow, a macro that expands
# to nothing) fails the configure instead of passing silently.
set(_gort_tsa_src ${PROJECT_SOURCE_DIR}/tests/tsa/negative.cpp)
set(_gort_tsa_flags -std=c++20 -Wthread-safety -Wthread-safety-beta -Werror=thread-safety -Werror=thread-safety-beta)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)  # compile only
foreach(_case 0 1 2)
  try_compile(_gort_tsa_ok ${CMAKE_BINARY_DIR}/gort_tsa_check/${_case} SOURCES ${_gort_tsa_src} NO_CACHE
    CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR}/scheduler/include"
    COMPILE_DEFINITIONS ${_gort_tsa_flags} -DGORT_TSA_NEGATIVE=${_case}
    LINK_LIBRARIES Boost::headers
    OUTPUT_VARIABLE _gort_tsa_out)
  if(_case EQUAL 0 AND NOT _gort_tsa_ok)
    message(FATAL_ERROR "GORT_THREAD_SAFETY: tests/tsa/negative.cpp does not compile:\n${_gort_tsa_out}")
  elseif(NOT _case EQUAL 0 AND (_gort_tsa_ok OR NOT _gort_tsa_out MATCHES "-Werror,-Wthread-safety"))
    message(FATAL_ERROR "GORT_THREAD_SAFETY: case ${_case} of tests/tsa/negative.cpp was not rejected "
                        "by the thread-safety analysis:\n${_gort_tsa_out}")
  endif()
endforeach()
unset(CMAKE_TRY_COMPILE_TARGET_TYPE)
message(STATUS "GORT_THREAD_SAFETY: the analysis rejects tests/tsa/negative.cpp's lock mistakes")
