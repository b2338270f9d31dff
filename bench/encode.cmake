# bench_encode: report encoder throughput (JSON/CBOR x long/short keys, 1,000
# connections) against an snprintf-built baseline of the same JSON. Not a ctest test.
add_executable(bench_encode ${CMAKE_CURRENT_LIST_DIR}/bench_encode.c)
target_link_libraries(bench_encode PRIVATE defender_core)
target_compile_options(bench_encode PRIVATE -Wall -Wextra -Werror)
set_target_properties(bench_encode PROPERTIES C_STANDARD 11)
