# Linux metrics source: integration tests against the running kernel (netlink and /proc
# paths) and the /proc parser on canned files.
if(TARGET defender_metrics_linux)
    # Until source/defender_sink.c implements the sink, link a weak stand-in.
    set(_sink_file ${PROJECT_SOURCE_DIR}/source/defender_sink.c)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_sink_file})
    file(READ ${_sink_file} _sink_text)
    set(DEFENDER_METRICS_LINUX_SINK_FALLBACK "")
    foreach(_fn Defender_SinkInit Defender_SinkFinish Defender_SinkAddConnection
                Defender_SinkAddListeningPort Defender_SinkAddInterface)
        if(NOT _sink_text MATCHES "${_fn}[ \t\r\n]*\\(")
            set(DEFENDER_METRICS_LINUX_SINK_FALLBACK
                ${PROJECT_SOURCE_DIR}/test/integration/metrics_linux_sink_fallback.c)
        endif()
    endforeach()

    defender_add_unit_test(NAME integration_metrics_linux
        SOURCES ${PROJECT_SOURCE_DIR}/test/integration/test_metrics_linux.c
                ${DEFENDER_METRICS_LINUX_SINK_FALLBACK}
        LIBS defender_metrics_linux)
endif()
