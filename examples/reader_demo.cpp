// A reader as an application would write one: attach once, resolve handles once, evaluate in a
// hot loop. Run it beside `flagd --flags examples/flags.json`.
//
//   reader_demo [SEGMENT]
#include <chrono>
#include <cstdio>
#include <string>

#include "flagd/reader.hpp"

int main(int argc, char** argv) {
  const std::string segment = argc > 1 ? argv[1] : "flagd";
  auto attached = flagd::Reader::attach(segment);
  if (!attached) {
    std::fprintf(stderr, "reader_demo: %s\n", attached.error().message.c_str());
    return 1;
  }
  flagd::Reader& flags = attached.value();

  // Once, at start-up: names to handles.
  const flagd::Handle new_checkout = flags.resolve("new-checkout");
  const flagd::Handle kill_switch = flags.resolve("kill-switch-fx-quotes");
  const flagd::Handle router = flags.resolve("order-router");
  const flagd::Handle max_qty = flags.resolve("max-order-qty");
  const flagd::Handle ratio = flags.resolve("risk-limit-ratio");
  const flagd::Handle theme = flags.resolve("quote-theme");
  const flagd::Handle pricer = flags.resolve("experimental-pricer");

  std::string text, object;
  flags.get_string(router, "router-v1", text);
  flags.get_object(theme, "{}", object);
  std::printf("generation %llu of segment '%s'\n", static_cast<unsigned long long>(flags.generation()),
              segment.c_str());
  std::printf("  new-checkout          = %s\n", flags.get_bool(new_checkout, false) ? "true" : "false");
  std::printf("  kill-switch-fx-quotes = %s\n", flags.get_bool(kill_switch, false) ? "true" : "false");
  std::printf("  order-router          = %s\n", text.c_str());
  std::printf("  max-order-qty         = %lld\n", static_cast<long long>(flags.get_int(max_qty, 100)));
  std::printf("  risk-limit-ratio      = %g\n", flags.get_double(ratio, 0.1));
  std::printf("  quote-theme           = %s\n", object.c_str());
  flagd::Evaluation<bool> detail;
  flags.evaluate(pricer, false, detail);
  std::printf("  experimental-pricer   = %s (reason %s)\n", detail.value ? "true" : "false",
              std::string(flagd::to_string(detail.reason)).c_str());

  // The hot loop: a kill switch checked on every "order".
  constexpr int kOrders = 50'000'000;
  std::uint64_t halted = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kOrders; ++i) halted += flags.get_bool(kill_switch, true);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::printf("hot loop: %d kill-switch checks, %llu halted, %.2f ns per check\n", kOrders,
              static_cast<unsigned long long>(halted),
              static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) / kOrders);
  return 0;
}
