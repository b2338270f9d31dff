# bench_encode: report encoder throughput (JSON/CBOR x long/short keys, 1,000
# connections) against an snprintf-built baseline of the same JSON. Not a ctest test.
# The encoder sources are compiled into the program at -O2 (the default build type
# sets no optimisation, which would measure an unoptimised encoder).
add_executable(bench_encode
    ${CMAKE_CURRENT_LIST_DIR}/bench_encode.c
    ${PROJECT_SOURCE_DIR}/source/defender_report.c
    ${PROJECT_SOURCE_DIR}/source/defender_report_json.c
    ${PROJECT_SOURCE_DIR}/source/defender_report_cbor.c
    ${PROJECT_SOURCE_DIR}/source/defender_address.c
    ${PROJECT_SOURCE_DIR}/source/defender_topic.c)
target_include_directories(bench_encode PRIVATE
    $<TARGET_PROPERTY:defender_core,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(bench_encode PRIVATE
    $<TARGET_PROPERTY:defender_core,INTERFACE_COMPILE_DEFINITIONS>)
target_compile_options(bench_encode PRIVATE -O2 -Wall -Wextra -Werror)
set_target_properties(bench_encode PROPERTIES C_STANDARD 11)
