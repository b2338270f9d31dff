# Rules Detect evaluation cost against the ingestion cost (bench/rules).
if(TARGET detect_rules)
    add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/rules ${CMAKE_CURRENT_BINARY_DIR}/rules)
endif()
