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
  // 0 to 22 filler flags of changing lengths: the records, strings and tables move every time.
  for (std::uint64_t i = 0; i < g % 23; ++i)
    s += "\"fill-" + std::to_string(i) + R"(": {"state": "ENABLED", "variants": {"v": ")" +
         std::string(i * 5 + g % 11, 'f') + R"("}, "defaultVariant": "v"},)";
  const std::string n = std::to_string(g);
  s += R"("gen-num": {"state": "ENABLED", "variants": {"v": )" + n + R"(}, "defaultVariant": "v"},)";
  s += R"("gen-str": {"state": "ENABLED", "variants": {"v": ")" + generation_text(g) + R"("}, "defaultVariant": "v"},)";
  s += R"("gen-bool": {"state": "ENABLED", "variants": {"t": true, "f": false}, "defaultVariant": ")" +
       std::string(g % 2 ? "t" : "f") + R"("},)";
  s += R"("gen-obj": {"state": "ENABLED", "variants": {"v": {"g": )" + n + R"(}}, "defaultVariant": "v"},)";
  // A targeted flag: its rule (and fast form) and the variant it names change every time.
  s += R"("gen-rule": {"state": "ENABLED", "variants": {"r)" + n + R"(": ")" + generation_text(g) + R"(", "other": "none"},
        "defaultVariant": "other", "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "r)" + n +
       R"(", "other"]}}}})";
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
        obj_(reader.resolve("gen-obj")),
        rule_(reader.resolve("gen-rule")) {
    context_.set("email", "ann@example.com");
  }

  // One round of the detailed forms, which say which generation answered: five reads. Returns the
  // number of inconsistent reads in it.
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
    reader_.evaluate(rule_, context_, std::string_view(""), rule_text_);
    bad += rule_text_.generation != 0 && (rule_text_.value != generation_text(rule_text_.generation) ||
                                          rule_text_.variant != "r" + std::to_string(rule_text_.generation));
    latest_ = std::max(latest_, object_.generation);
    return bad;
  }

  // One round of the value-only forms, which carry no generation: each value must lie between the
  // generations seen just before and just after. Four reads; returns the inconsistent ones.
  int value_round() {
    const std::uint64_t before = reader_.generation();
    const double number = reader_.get_double(num_, -1.0);
    reader_.get_string(rule_, context_, "", value_text_);
    const std::uint64_t from_text = parse_generation(value_text_);
    reader_.get_string(str_, "", value_text_);
    const std::uint64_t from_plain = parse_generation(value_text_);
    const bool flag = reader_.get_bool(bool_, false);
    const std::uint64_t after = reader_.generation();
    int bad = 0;
    if (before == 0) return 0;  // nothing published yet
    bad += !(number >= static_cast<double>(before) && number <= static_cast<double>(after));
    bad += !(from_text >= before && from_text <= after);
    bad += !(from_plain >= before && from_plain <= after);
    bad += before == after && flag != (before % 2 == 1);  // a boolean says little across generations
    return bad;
  }
  std::uint64_t latest_generation() const { return latest_; }

 private:
  Reader& reader_;
  // The generation a generation_text() holds, or 0 if it is none.
  static std::uint64_t parse_generation(const std::string& text) {
    if (text.size() < 2 || text[0] != 'g') return 0;
    std::uint64_t g = 0;
    std::size_t i = 1;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) g = g * 10 + static_cast<std::uint64_t>(text[i] - '0');
    return text == generation_text(g) ? g : 0;
  }

  Handle num_, str_, bool_, obj_, rule_;
  Context context_;
  std::string value_text_;
  Evaluation<double> number_;
  Evaluation<std::string> text_, object_, rule_text_;
  Evaluation<bool> boolean_;
  std::uint64_t latest_ = 0;
};

}  // namespace flagd::test
