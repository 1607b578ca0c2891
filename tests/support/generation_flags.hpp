// Test support: flag sets whose every value encodes the generation of the image holding it, and
// whose shape (flag count, offsets, string lengths) changes from one generation to the next. A
// reader that checks each value against the generation it came with detects any mixed read.
#pragma once

#include <cstdint>
#include <string>

#include "flagd/reader.hpp"

namespace flagd::test {

inline std::string generation_text(std::uint64_t g) {
  return "g" + std::to_string(g) + std::string(g % 37, 'x');
}

inline std::string generation_json(std::uint64_t g) {
  std::string s = R"({"flags": {)";
  for (std::uint64_t i = 0; i < g % 7; ++i)
    s += "\"fill-" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"v": ")" +
         std::string(i * 5 + g % 11, 'f') + R"("}, "defaultVariant": "v"},)";
  const std::string n = std::to_string(g);
  s += R"("gen-num": {"state": "ENABLED", "variants": {"v": )" + n + R"(}, "defaultVariant": "v"},)";
  s += R"("gen-str": {"state": "ENABLED", "variants": {"v": ")" + generation_text(g) + R"("}, "defaultVariant": "v"},)";
  s += R"("gen-bool": {"state": "ENABLED", "variants": {"t": true, "f": false}, "defaultVariant": ")" +
       std::string(g % 2 ? "t" : "f") + R"("},)";
  s += R"("gen-obj": {"state": "ENABLED", "variants": {"v": {"g": )" + n + R"(}}, "defaultVariant": "v"}}})";
  return s;
}

// Reads the four generation flags; counts reads that mix generations. Buffers are reused.
class GenerationChecker {
 public:
  explicit GenerationChecker(Reader& reader)
      : reader_(reader),
        num_(reader.resolve("gen-num")),
        str_(reader.resolve("gen-str")),
        bool_(reader.resolve("gen-bool")),
        obj_(reader.resolve("gen-obj")) {}

  // One round: four reads. Returns the number of inconsistent reads in it.
  int round() {
    int bad = 0;
    reader_.evaluate(num_, 0.0, number_);
    bad += number_.generation != 0 && number_.value != static_cast<double>(number_.generation);
    reader_.evaluate(str_, std::string_view(""), text_);
    bad += text_.generation != 0 && text_.value != generation_text(text_.generation);
    reader_.evaluate(bool_, false, boolean_);
    bad += boolean_.generation != 0 &&
           (boolean_.value != (boolean_.generation % 2 == 1) || boolean_.variant != (boolean_.value ? "t" : "f"));
    reader_.evaluate_object(obj_, "{}", object_);
    bad += object_.generation != 0 && object_.value != "{\"g\":" + std::to_string(object_.generation) + "}";
    latest_ = std::max(latest_, object_.generation);
    return bad;
  }
  std::uint64_t latest_generation() const { return latest_; }

 private:
  Reader& reader_;
  Handle num_, str_, bool_, obj_;
  Evaluation<double> number_;
  Evaluation<std::string> text_, object_;
  Evaluation<bool> boolean_;
  std::uint64_t latest_ = 0;
};

}  // namespace flagd::test
