# The daemon's serving ports (flagd-serve) with official OpenFeature clients from the npm registry,
# installed into ${PROJECT_BINARY_DIR}/serve_clients by scripts/test.sh (tests/serve_clients/):
#   serve_in_process_js  @openfeature/flagd-provider, in-process resolver, on --sync-port;
#   serve_ofrep_js       @openfeature/ofrep-provider and ofrep-core's bulk API, on --ofrep-port.
# Each starts flagd itself on free 127.0.0.1 ports with a segment of its own. Exit code 77 =
# skipped, with a message saying why (no Node.js, or the packages are not installed). Not under
# sanitizers: the daemon would run instrumented beside an uninstrumented Node.js for no gain.
if(NOT FLAGD_SANITIZE)
  foreach(client in_process ofrep)
    add_test(NAME serve_${client}_js
      COMMAND sh -c "command -v node >/dev/null || { echo 'SKIPPED: Node.js is not installed'; exit 77; }; exec node \"$0\" \"$1\" \"$2\""
              ${CMAKE_CURRENT_LIST_DIR}/serve_clients/${client}.js $<TARGET_FILE:flagd> $<TARGET_FILE:flagctl>)
    set_tests_properties(serve_${client}_js PROPERTIES
      SKIP_RETURN_CODE 77
      TIMEOUT 120
      ENVIRONMENT "NODE_PATH=${PROJECT_BINARY_DIR}/serve_clients/node_modules"
      LABELS "serve;process")
  endforeach()
endif()
