// OFREP (the OpenFeature Remote Evaluation Protocol) as flagd serves it, answered by this
// project's reader over the segment, so that an OFREP client gets what an in-process reader gets
// for the same context:
//   POST /ofrep/v1/evaluate/flags/{key}  {"context": {...}}
//     200 {"key","value","variant","reason","metadata"}; a flag answering its code default
//         (no default variant) without "value" and "variant"
//     404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails","metadata"}: a flag the image lacks,
//         one outside the selected flag set, and a disabled flag (see below)
//     400 {"key","errorCode":"PARSE_ERROR"|"GENERAL","errorDetails","metadata"}: an evaluation
//         error (any but a parse error is GENERAL, as in flagd)
//     400 {"key","errorCode":"INVALID_CONTEXT"|"GENERAL","errorDetails"}: a body that is not a
//         JSON object (or null), or a selector that cannot be served; the bulk's without "key"
//   POST /ofrep/v1/evaluate/flags, or .../flags/  {"context": {...}}
//     200 {"flags":[one item per enabled flag of the selection, as above, errors as
//         {"key","errorCode","errorDetails","metadata"}],"metadata":{...}}, with an ETag (a
//         SHA-256 of the body); If-None-Match naming it (in a list, W/ or not): 304, no body
//
// The reference is flagd v0.16.1 (open-feature/flagd, flagd/pkg/service/flag-evaluation/ofrep/
// handler.go and core/pkg/service/ofrep/models.go at that tag). As flagd does:
//   - The context is the request's "context" with the static values (--context-value KEY=VALUE)
//     over it: a static value wins over the request's for the same key (flagd's
//     MergeContextsAndHeaders). A "context" that is missing or not an object (5, null, "x") is
//     the empty context, as is an empty body or a body of null.
//   - The flagd-selector header's selector (parse_selector) restricts the answer to the flags it
//     picks: a flag outside it is FLAG_NOT_FOUND, the bulk lists only those in it. The metadata
//     of every answer, and the bulk's own, carry the flagSetId or source selected, under the
//     flag's own metadata. An unknown selector key is 400 GENERAL "invalid selector: ...".
//   - Evaluation errors carry flagd's codes and details ("flag `KEY` does not exist").
// Unlike flagd:
//   - Disabled flags are answered as flagd v0.15.7 and earlier did: 404 FLAG_NOT_FOUND alone,
//     left out of the bulk answer. flagd v0.16.0 (#1968) answers them 200 {"key","reason":
//     "DISABLED","metadata"}, without a value, and lists them so in the bulk; the newest
//     @openfeature/ofrep-provider (0.1.3, on ofrep-core 0.1.x) takes a 200 without a value for a
//     malformed answer, while it reads the 404 as "use the code default".
//   - A flag's flag set is the "flagSetId" of its metadata as the reader gives it (the file's
//     merged under the flag's own). Its source, which the segment does not record, is the one the
//     sync document names: flagd-serve reads that document a moment after the segment changes
//     (inotify, or its look each second), so for that moment, and while the daemon cannot write
//     the document, a source selector judges by the flags before the change; with no document
//     yet it picks none.
//   - "flagSetId=" (the flags with none) adds nothing to the metadata; flagd adds the internal
//     id it gives those flags.
//   - A body that is not JSON, or JSON followed by more, is 400 INVALID_CONTEXT with what is
//     wrong; flagd's decoder ignores what follows the first JSON value, reads "Context" in any
//     case, and says "Provider context is not valid".
//   - The bulk answer's ETag: flagd's OFREP sends none; it is OFREP's optional caching.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "flag_document.hpp"
#include "http_server.hpp"

namespace flagd::serve {

class OfrepService {
 public:
  // `context_values`: the static context, flagd's --context-value pairs, each key once
  // (ServeOptions keeps the last value given for a key, as flagd's option map does).
  // `document` gives the latest sync document, by which a source selector picks flags (none: a
  // source selector picks none).
  explicit OfrepService(std::string segment, std::vector<std::pair<std::string, std::string>> context_values = {},
                        std::function<std::shared_ptr<const FlagDocument>()> document = {});
  ~OfrepService();
  OfrepService(const OfrepService&) = delete;
  OfrepService& operator=(const OfrepService&) = delete;

  // Safe to call from several threads at once: each has a reader of its own.
  HttpResponse handle(const HttpRequest& request);

 private:
  struct Worker;
  Worker& worker();

  const std::string segment_;
  const std::vector<std::pair<std::string, std::string>> context_values_;  // keys unique
  const std::function<std::shared_ptr<const FlagDocument>()> document_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<Worker>> workers_;
};

// The flag key of a single-flag path, percent-decoded; false if `target` is not one.
bool single_flag_key(std::string_view target, std::string& key);

// Whether an If-None-Match field value names `etag` (quoted, as sent in the ETag header): "*", or
// a list of entity tags one of which has the same opaque tag, W/ or not (RFC 9110's weak
// comparison, which 13.1.2 prescribes for If-None-Match). A malformed value names none.
bool if_none_match_names(std::string_view field, std::string_view etag);

}  // namespace flagd::serve
