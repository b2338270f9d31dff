# The defender-detect load generator and bench script (bench/detect).
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/detect ${CMAKE_BINARY_DIR}/bench/detect)
