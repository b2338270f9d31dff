# The installed library through pkg-config, the installed layout, and the test peer as a
# program.
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
    # One `cmake --install` of the build tree at a time.
    set_tests_properties(integration_install_pkgconfig PROPERTIES LABELS integration TIMEOUT 120
                         RESOURCE_LOCK defender_install)
    endif()

    # The installed systemd units name files that the same install put there: this
    # build's prefix (/usr/local by default), and a build configured with
    # -DCMAKE_INSTALL_PREFIX=/usr and -DDEFENDER_BUILD_TESTS=OFF (without tests or
    # sanitizers, kept in the build tree so that later runs only rebuild what changed).
    set(DEFENDER_LAYOUT_UNITS defender-agent)
    if(TARGET defender-detect)
        list(APPEND DEFENDER_LAYOUT_UNITS defender-detect)
    endif()
    add_test(NAME integration_install_layout
             COMMAND ${PROJECT_SOURCE_DIR}/test/integration/install_layout.sh
                     ${CMAKE_BINARY_DIR} ${DEFENDER_LAYOUT_UNITS})
    set_tests_properties(integration_install_layout PROPERTIES LABELS integration TIMEOUT 120
                         RESOURCE_LOCK defender_install)
    if(NOT DEFENDER_SANITIZE AND NOT DEFENDER_TSAN)
    add_test(NAME integration_install_layout_usr
             COMMAND ${PROJECT_SOURCE_DIR}/test/integration/install_layout.sh --prefix /usr
                     ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/install-layout-usr
                     ${CMAKE_C_COMPILER} ${DEFENDER_LAYOUT_UNITS})
    set_tests_properties(integration_install_layout_usr PROPERTIES LABELS integration TIMEOUT 600)
    endif()
endif()
