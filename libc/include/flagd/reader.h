/* flagd's reader as a plain C ABI, for C programs and for other languages' foreign-function
 * interfaces (Python's ctypes: examples/python/). Everything is a thin layer over the C++ reader
 * (flagd/reader.hpp): the same evaluation, costs and guarantees. No function throws, aborts or
 * blocks in an evaluation. Evaluations allocate nothing, except that string results pass through
 * a per-thread buffer that grows the first times a longer string is read.
 *
 *   char error[256];
 *   flagd_reader* flags = flagd_attach("flagd", error, sizeof error);
 *   flagd_handle halt = flagd_resolve(flags, "kill-switch");
 *   if (flagd_get_bool(flags, halt, NULL, 1)) { ... }
 *
 * Link -lflagd_c (a shared library: it carries the reader, and the loader for flagd_local_*).
 */
#ifndef FLAGD_READER_H
#define FLAGD_READER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flagd_reader flagd_reader;
typedef struct flagd_context flagd_context;

/* A flag resolved once by key: copy it freely; valid for its reader's life. */
typedef struct flagd_handle {
  uint64_t opaque[2];
} flagd_handle;

/* Reasons and error codes, as flagd names them (flagd_reason_name, flagd_error_name). */
enum { FLAGD_REASON_STATIC = 0, FLAGD_REASON_DEFAULT, FLAGD_REASON_TARGETING_MATCH, FLAGD_REASON_DISABLED, FLAGD_REASON_ERROR };
enum { FLAGD_ERROR_NONE = 0, FLAGD_ERROR_FLAG_NOT_FOUND, FLAGD_ERROR_PARSE_ERROR, FLAGD_ERROR_TYPE_MISMATCH, FLAGD_ERROR_GENERAL };

/* What an evaluation decided besides its value. */
typedef struct flagd_details {
  int reason;           /* FLAGD_REASON_* */
  int error;            /* FLAGD_ERROR_* */
  int has_variant;      /* 1 if a variant was chosen */
  uint64_t generation;  /* the image the answer came from; 0 when no segment is attached */
  char variant[128];    /* the variant's key, NUL-terminated, cut to fit */
} flagd_details;

/* ---- readers ---------------------------------------------------------------------------- */

/* Maps the named segment read-only. NULL on failure, with the reason in `error` (may be NULL). */
flagd_reader* flagd_attach(const char* segment, char* error, size_t error_size);
/* A reader that answers the callers' defaults until flagd_try_attach succeeds. */
flagd_reader* flagd_detached(const char* segment);
/* 0 once attached; otherwise -1 and the reason in `error`. */
int flagd_try_attach(flagd_reader* reader, char* error, size_t error_size);
/* Flags compiled in this process from JSON text or a flag file (tests, local runs). */
flagd_reader* flagd_local_from_json(const char* json, char* error, size_t error_size);
flagd_reader* flagd_local_from_file(const char* path, char* error, size_t error_size);
void flagd_close(flagd_reader* reader); /* NULL is allowed */

/* Resolves a key once; an unknown key resolves too and evaluates as FLAG_NOT_FOUND. */
flagd_handle flagd_resolve(flagd_reader* reader, const char* key);
/* The generation readers see now: cheap to poll for changes. */
uint64_t flagd_generation(const flagd_reader* reader);

/* Sleeps until the generation is past last_generation or timeout_ms has passed, and returns the
 * generation then (last_generation on a timeout). The daemon wakes waiters at each publication;
 * evaluations pay nothing for it. For a thread of its own, never for the hot path. */
uint64_t flagd_wait_for_change(const flagd_reader* reader, uint64_t last_generation, uint64_t timeout_ms);

/* ---- evaluation (context may be NULL: an empty one) -------------------------------------- */

int flagd_get_bool(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int fallback);
int64_t flagd_get_int(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int64_t fallback);
double flagd_get_double(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, double fallback);
/* Copies the string (or the object's JSON text) into `out` (NUL-terminated, cut to fit) and
 * returns its full length, as snprintf does: a result >= out_size means `out` was too small. */
size_t flagd_get_string(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                        const char* fallback, char* out, size_t out_size);
size_t flagd_get_object(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                        const char* fallback_json, char* out, size_t out_size);

/* Detailed forms: the value and what decided it. */
int flagd_evaluate_bool(const flagd_reader* reader, flagd_handle flag, const flagd_context* context, int fallback,
                        flagd_details* details);
int64_t flagd_evaluate_int(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                           int64_t fallback, flagd_details* details);
double flagd_evaluate_double(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             double fallback, flagd_details* details);
size_t flagd_evaluate_string(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             const char* fallback, char* out, size_t out_size, flagd_details* details);
size_t flagd_evaluate_object(const flagd_reader* reader, flagd_handle flag, const flagd_context* context,
                             const char* fallback_json, char* out, size_t out_size, flagd_details* details);

const char* flagd_reason_name(int reason); /* "STATIC", "TARGETING_MATCH", ... */
const char* flagd_error_name(int error);   /* "", "FLAG_NOT_FOUND", ... */

/* Overrides for tests and local runs (flagd::Reader::set_override): 0, or -1 if out of memory. */
int flagd_set_override(flagd_reader* reader, const char* key, const char* value);
void flagd_clear_overrides(flagd_reader* reader);

/* ---- evaluation contexts ------------------------------------------------------------------ */

/* A context: typed attributes that targeting rules read. Keys and string values are NOT copied:
 * they must outlive the context's use. Reuse one context across evaluations; up to 32
 * attributes it allocates nothing after its creation. */
flagd_context* flagd_context_new(void);
void flagd_context_free(flagd_context* context); /* NULL is allowed */
void flagd_context_clear(flagd_context* context);
/* 0, or -1 if out of memory. */
int flagd_context_set_string(flagd_context* context, const char* key, const char* value);
int flagd_context_set_number(flagd_context* context, const char* key, double value);
int flagd_context_set_bool(flagd_context* context, const char* key, int value);
int flagd_context_set_null(flagd_context* context, const char* key);
int flagd_context_set_targeting_key(flagd_context* context, const char* value);

#ifdef __cplusplus
}
#endif

#endif /* FLAGD_READER_H */
