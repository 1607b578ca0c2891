// Uses the installed package: evaluates flags compiled in-process (flagd::local) through the
// reader API (flagd::reader), and finds the installed flagctl through the package's variables.
#include <cstdio>
#include <cstdlib>

#include "flagd/local_flags.hpp"
#include "flagd/reader.hpp"

int main() {
  auto flags = flagd::LocalFlags::from_json(R"({"flags": {
      "new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                       "targeting": {"if": [{"==": [{"var": "country"}, "DE"]}, "on", "off"]}}}})");
  if (!flags) {
    std::fprintf(stderr, "%s", flags.error().message.c_str());
    return 1;
  }
  flagd::Reader& reader = flags->reader();
  const flagd::Handle checkout = reader.resolve("new-checkout");
  flagd::Context de;
  de.set("country", "DE");
  const bool off = reader.get_bool(checkout, true);
  const bool on = reader.get_bool(checkout, de, false);
  std::printf("new-checkout: %s without a country, %s in DE\n", off ? "on" : "off", on ? "on" : "off");
  if (off || !on) return 1;
  return std::system(FLAGCTL " --version > /dev/null") == 0 ? 0 : 1;
}
