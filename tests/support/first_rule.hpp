// Test support: the rule of an image's first flag, opened as the reader opens a rule (its node
// reference and the flag's key), for tests that run the interpreter on an image built in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "flagd/layout.hpp"
#include "image_read.hpp"
#include "rule_eval.hpp"

namespace flagd::test {

struct FirstRule {
  detail::SlotView slot;
  layout::RuleRef ref;
  layout::StringRef key;

  explicit FirstRule(const std::vector<std::byte>& image)
      : slot{image.data(), image.size()},
        ref(detail::rule_nodes(slot, detail::rule_ref_at(slot, 0))),
        key(layout::unpack_string_ref(shared::load<std::uint64_t>(image.data() + layout::kRecordsOffset +
                                                                  offsetof(layout::FlagRecord, key)))) {}

  // An interpreter of the rule on `context` (on the heap: it holds the evaluator's scratch). It
  // refers to this FirstRule's slot, which must outlive it.
  std::unique_ptr<detail::RuleEvaluator> interpreter(const Context& context) const {
    return std::make_unique<detail::RuleEvaluator>(slot, ref, &context, key);
  }
};

}  // namespace flagd::test
