# The installed library through pkg-config, and the test peer as a program.
if(DEFENDER_BUILD_LINUX)
    add_executable(defender-test-peer ${PROJECT_SOURCE_DIR}/test/common/test_peer_main.c)
    target_link_libraries(defender-test-peer PRIVATE defender_test_support)
    set_target_properties(defender-test-peer PROPERTIES C_STANDARD 11)
    # Not in sanitizer builds: the installed library would need the sanitizer runtime
    # in every program built against it.
    if(NOT DEFENDER_SANITIZE)
    add_test(NAME integration_install_pkgconfig
             COMMAND ${PROJECT_SOURCE_DIR}/test/integration/install_pkgconfig.sh
                     ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR} $<TARGET_FILE:defender-test-peer>)
    set_tests_properties(integration_install_pkgconfig PROPERTIES LABELS integration TIMEOUT 120)
    endif()
endif()
