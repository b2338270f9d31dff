# libFuzzer targets and their bounded smoke runs (test/fuzz), only when asked for.
if(DEFENDER_BUILD_FUZZERS)
    add_subdirectory(${PROJECT_SOURCE_DIR}/test/fuzz ${CMAKE_BINARY_DIR}/test/fuzz)
endif()
