# Source files and include folders of the Device Defender agent core, for any build
# system that wants to take the library in (as the FreeRTOS libraries do).
#
#   DEFENDER_CORE_SOURCES       the portable core: C99, no heap, no OS calls, no I/O
#   DEFENDER_CORE_INCLUDE_DIRS  public headers and port interfaces
#   DEFENDER_API_SOURCES        the seed's singleton API and the task runner (portable,
#                               need an OS port and a platform binding)

set(DEFENDER_CORE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/defender_core.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_sink.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_report.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_report_json.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_report_cbor.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_address.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_topic.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_response.c
    ${CMAKE_CURRENT_LIST_DIR}/defender_names.c)

set(DEFENDER_CORE_INCLUDE_DIRS
    ${CMAKE_CURRENT_LIST_DIR}/include
    ${CMAKE_CURRENT_LIST_DIR}/interface)

set(DEFENDER_API_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/defender_runner.c
    ${CMAKE_CURRENT_LIST_DIR}/defender.c)
