/* The C ABI (flagd/reader.h), used from C: flags compiled in-process, typed and detailed
 * evaluations, contexts, overrides, strings cut to the caller's buffer, and errors. */
#include <stdio.h>
#include <string.h>

#include "flagd/reader.h"

static int failures = 0;
#define EXPECT(condition)                                                  \
  do {                                                                     \
    if (!(condition)) {                                                    \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

static const char* kFlags =
    "{\"flags\": {"
    "\"new-checkout\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, \"defaultVariant\": \"off\","
    "  \"targeting\": {\"if\": [{\"==\": [{\"var\": \"country\"}, \"DE\"]}, \"on\", \"off\"]}},"
    "\"max-qty\": {\"state\": \"ENABLED\", \"variants\": {\"low\": 100, \"high\": 5000.5}, \"defaultVariant\": \"high\"},"
    "\"router\": {\"state\": \"ENABLED\", \"variants\": {\"a\": \"router-v1\", \"b\": \"router-v2\"}, \"defaultVariant\": \"b\"},"
    "\"theme\": {\"state\": \"ENABLED\", \"variants\": {\"dark\": {\"bg\": \"#000\"}}, \"defaultVariant\": \"dark\"}"
    "}}";

int main(void) {
  char error[512] = "";
  flagd_reader* flags = flagd_local_from_json(kFlags, error, sizeof error);
  EXPECT(flags != NULL);
  if (flags == NULL) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  const flagd_handle checkout = flagd_resolve(flags, "new-checkout");
  const flagd_handle qty = flagd_resolve(flags, "max-qty");
  const flagd_handle router = flagd_resolve(flags, "router");
  const flagd_handle theme = flagd_resolve(flags, "theme");
  const flagd_handle missing = flagd_resolve(flags, "no-such-flag");

  EXPECT(flagd_get_bool(flags, checkout, NULL, 1) == 0);
  flagd_context* de = flagd_context_new();
  EXPECT(flagd_context_set_string(de, "country", "DE") == 0);
  EXPECT(flagd_context_set_targeting_key(de, "user-1") == 0);
  EXPECT(flagd_context_set_number(de, "tier", 3) == 0);
  EXPECT(flagd_context_set_bool(de, "beta", 1) == 0);
  EXPECT(flagd_context_set_null(de, "nothing") == 0);
  EXPECT(flagd_get_bool(flags, checkout, de, 0) == 1);

  EXPECT(flagd_get_int(flags, qty, NULL, 0) == 5000);
  EXPECT(flagd_get_double(flags, qty, NULL, 0) == 5000.5);
  char text[64];
  EXPECT(flagd_get_string(flags, router, NULL, "none", text, sizeof text) == 9);
  EXPECT(strcmp(text, "router-v2") == 0);
  char small[4];
  EXPECT(flagd_get_string(flags, router, NULL, "none", small, sizeof small) == 9);  /* cut to fit */
  EXPECT(strcmp(small, "rou") == 0);
  EXPECT(flagd_get_object(flags, theme, NULL, "{}", text, sizeof text) > 0);
  EXPECT(strcmp(text, "{\"bg\":\"#000\"}") == 0);

  flagd_details details;
  EXPECT(flagd_evaluate_bool(flags, checkout, de, 0, &details) == 1);
  EXPECT(details.reason == FLAGD_REASON_TARGETING_MATCH);
  EXPECT(strcmp(flagd_reason_name(details.reason), "TARGETING_MATCH") == 0);
  EXPECT(details.has_variant == 1 && strcmp(details.variant, "on") == 0);
  EXPECT(details.generation == 1);
  EXPECT(flagd_evaluate_double(flags, missing, NULL, 7.5, &details) == 7.5);
  EXPECT(details.reason == FLAGD_REASON_ERROR && details.error == FLAGD_ERROR_FLAG_NOT_FOUND);
  EXPECT(strcmp(flagd_error_name(details.error), "FLAG_NOT_FOUND") == 0);
  EXPECT(flagd_evaluate_string(flags, router, NULL, "none", text, sizeof text, &details) == 9);
  EXPECT(details.reason == FLAGD_REASON_STATIC && strcmp(details.variant, "b") == 0);
  EXPECT(flagd_evaluate_int(flags, qty, NULL, 0, &details) == 5000);
  EXPECT(details.reason == FLAGD_REASON_STATIC && strcmp(details.variant, "high") == 0);
  EXPECT(flagd_evaluate_object(flags, theme, NULL, "{}", text, sizeof text, &details) == 13);
  EXPECT(strcmp(text, "{\"bg\":\"#000\"}") == 0 && strcmp(details.variant, "dark") == 0);
  EXPECT(flagd_evaluate_object(flags, qty, NULL, "{\"x\":1}", text, sizeof text, &details) == 7);
  EXPECT(strcmp(text, "{\"x\":1}") == 0 && details.error == FLAGD_ERROR_TYPE_MISMATCH);
  EXPECT(flagd_evaluate_bool(flags, router, NULL, 1, &details) == 1);  /* a string flag asked as a boolean */
  EXPECT(details.error == FLAGD_ERROR_TYPE_MISMATCH);

  EXPECT(flagd_set_override(flags, "router", "a") == 0);
  EXPECT(flagd_get_string(flags, router, NULL, "none", text, sizeof text) == 9 && strcmp(text, "router-v1") == 0);
  flagd_clear_overrides(flags);
  EXPECT(flagd_get_string(flags, router, NULL, "none", text, sizeof text) == 9 && strcmp(text, "router-v2") == 0);
  EXPECT(flagd_generation(flags) == 1);
  EXPECT(flagd_wait_for_change(flags, 0, 60000) == 1);  /* already past 0: no wait */
  EXPECT(flagd_wait_for_change(flags, 1, 10) == 1);     /* nothing publishes: the timeout */
  EXPECT(flagd_wait_for_change(NULL, 0, 10) == 0);

  /* Errors: a bad document, a segment that does not exist, a detached reader's defaults. */
  EXPECT(flagd_local_from_json("{\"flags\": 3}", error, sizeof error) == NULL);
  EXPECT(strstr(error, "must be an object") != NULL);
  EXPECT(flagd_attach("flagd-c-api-no-such-segment", error, sizeof error) == NULL);
  EXPECT(strlen(error) > 0);
  flagd_reader* detached = flagd_detached("flagd-c-api-no-such-segment");
  EXPECT(detached != NULL);
  EXPECT(flagd_try_attach(detached, error, sizeof error) == -1);
  EXPECT(flagd_get_bool(detached, flagd_resolve(detached, "x"), NULL, 1) == 1);
  flagd_close(detached);

  flagd_context_free(de);
  flagd_close(flags);
  flagd_close(NULL);
  if (failures == 0) printf("C API: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
