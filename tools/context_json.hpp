// An evaluation context built from JSON ({"targetingKey": "u1", "user": {"tier": 3}}), owning the
// strings it refers to: what flagctl needs, since a flagd::Context does not copy strings.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "flagd/context.hpp"

namespace flagd::cli {

class JsonContext {
 public:
  // Replaces the context with `json` (an object). False, with `error` set, if it is not one.
  bool parse(std::string_view json, std::string& error);
  const Context& context() const noexcept { return context_; }

 private:
  std::string_view keep(std::string_view s) { return strings_.emplace_back(s); }
  Context context_;
  std::deque<std::string> strings_;
};

}  // namespace flagd::cli
