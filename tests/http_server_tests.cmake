# The HTTP server's tests: ordinary requests, the limits and the hostile clients (raw sockets),
# TLS (certificates made with the openssl command). Needs the flagd_catch_main OBJECT library.
find_package(Catch2 REQUIRED)
find_package(OpenSSL REQUIRED)

add_executable(test_http_server
  ${CMAKE_CURRENT_LIST_DIR}/test_http_server.cpp
  $<TARGET_OBJECTS:flagd_catch_main>)
target_include_directories(test_http_server PRIVATE ${CMAKE_CURRENT_LIST_DIR}/support)
target_link_libraries(test_http_server PRIVATE flagd_http_server Catch2::Catch2 OpenSSL::SSL OpenSSL::Crypto
                                               Threads::Threads flagd_warnings)
add_test(NAME test_http_server COMMAND test_http_server)
set_tests_properties(test_http_server PROPERTIES LABELS "concurrency" TIMEOUT 120)
