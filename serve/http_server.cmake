# The embeddable HTTP/1.1 server (Boost.Beast; HTTPS with OpenSSL) that the OFREP endpoint plugs
# its handler into. Included from serve/CMakeLists.txt; needs the top-level flagd_warnings target.
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)

add_library(flagd_http_server STATIC
  ${CMAKE_CURRENT_LIST_DIR}/http_server.cpp)
target_include_directories(flagd_http_server PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(flagd_http_server
  PUBLIC Boost::boost Threads::Threads OpenSSL::SSL OpenSSL::Crypto
  PRIVATE flagd_warnings)
set_target_properties(flagd_http_server PROPERTIES POSITION_INDEPENDENT_CODE ON)
# GCC 12 warns (-Wtsan, on by default) that ThreadSanitizer does not model the
# std::atomic_thread_fence in Asio's completion path; Asio's hand-offs between threads go through
# its scheduler's mutex, which TSan does see, so the warning would only fail a -Werror TSan build.
if(FLAGD_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(flagd_http_server PRIVATE -Wno-tsan)
endif()
