// OFREP (the OpenFeature Remote Evaluation Protocol) as flagd serves it, answered by this
// project's reader over the segment, so that an OFREP client gets what an in-process reader gets
// for the same context:
//   POST /ofrep/v1/evaluate/flags/{key}  {"context": {...}}
//     200 {"key","value","variant","reason","metadata"}; a flag answering its code default
//         (no default variant) without "value" and "variant"
//     404 {"key","errorCode":"FLAG_NOT_FOUND","errorDetails"}, for a disabled flag too (as flagd)
//     400 {"key","errorCode":"INVALID_CONTEXT"|"PARSE_ERROR"|"TYPE_MISMATCH"|"GENERAL","errorDetails"}
//   POST /ofrep/v1/evaluate/flags  {"context": {...}}
//     200 {"flags":[one item per flag, as above, errors as {"key","errorCode","errorDetails"}],"metadata":{}}
//         with an ETag (a SHA-256 of the body); If-None-Match with it: 304 and no body
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http_server.hpp"

namespace flagd::serve {

class OfrepService {
 public:
  explicit OfrepService(std::string segment);
  ~OfrepService();
  OfrepService(const OfrepService&) = delete;
  OfrepService& operator=(const OfrepService&) = delete;

  // Safe to call from several threads at once: each has a reader of its own.
  HttpResponse handle(const HttpRequest& request);

 private:
  struct Worker;
  Worker& worker();

  const std::string segment_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<Worker>> workers_;
};

// The flag key of a single-flag path, percent-decoded; false if `target` is not one.
bool single_flag_key(std::string_view target, std::string& key);

}  // namespace flagd::serve
