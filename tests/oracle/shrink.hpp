// Reduces a case that shows a disagreement to a small one that still shows it: drops requests,
// flags, members and array elements, replaces subtrees of a rule by their children or by
// constants, drops context keys, while the check keeps holding. Every accepted step makes the
// case's text strictly shorter, so the reduction ends; it stops early at the check budget.
#pragma once

#include <functional>

#include "oracle_case.hpp"

namespace flagd::oracle {

struct ShrinkOptions {
  int max_checks = 600;  // how many candidate cases may be run
};

struct ShrinkResult {
  Case minimal;
  int checks = 0;       // candidates run
  bool exhausted = false;  // stopped at the budget, not at a case no step shrinks
};

// `still` answers whether a candidate case still shows the disagreement.
ShrinkResult shrink(const Case& start, const std::function<bool(const Case&)>& still, const ShrinkOptions& options = {});

}  // namespace flagd::oracle
