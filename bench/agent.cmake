# defender-agent's own figures: peak RSS at N established connections and CPU time
# between reports. bench_agent_rss [CONNECTIONS [PERIOD]] (default 50000, 5 s).
if(TARGET defender-agent AND TARGET defender_test_support)
    pkg_check_modules(BENCH_AGENT_CJSON REQUIRED IMPORTED_TARGET libcjson)
    add_executable(bench_agent_rss ${CMAKE_CURRENT_LIST_DIR}/bench_agent_rss.c)
    target_link_libraries(bench_agent_rss PRIVATE defender_test_support PkgConfig::BENCH_AGENT_CJSON)
    target_compile_definitions(bench_agent_rss PRIVATE
                               DEFENDER_AGENT_PATH="$<TARGET_FILE:defender-agent>")
    target_compile_options(bench_agent_rss PRIVATE -Wall -Wextra -Werror)
    set_target_properties(bench_agent_rss PROPERTIES C_STANDARD 11)
    add_dependencies(bench_agent_rss defender-agent)
endif()
