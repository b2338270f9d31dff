# Linux metrics source benchmark: bench_metrics_linux [N ...] (default 100 1000 10000 50000).
if(TARGET defender_metrics_linux)
    add_executable(bench_metrics_linux ${CMAKE_CURRENT_LIST_DIR}/bench_metrics_linux.c)
    target_link_libraries(bench_metrics_linux PRIVATE defender_metrics_linux)
    target_compile_options(bench_metrics_linux PRIVATE -Wall -Wextra -Werror)
    set_target_properties(bench_metrics_linux PROPERTIES C_STANDARD 11)
endif()
