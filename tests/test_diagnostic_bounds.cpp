// What a load's diagnostics cost: positions from a line index built once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "diagnostic.hpp"

using flagd::LineIndex;

namespace {

std::string at(LineIndex& index, std::size_t offset) {
  std::uint32_t line = 0, column = 0;
  index.locate(offset, line, column);
  return std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

TEST_CASE("LineIndex locates offsets on the first line, at a newline, on a last line without one, and past the end") {
  LineIndex index("ab\ncd\n\nef");
  CHECK(at(index, 0) == "1:1");
  CHECK(at(index, 1) == "1:2");
  CHECK(at(index, 2) == "1:3");  // the newline ends line 1
  CHECK(at(index, 3) == "2:1");
  CHECK(at(index, 5) == "2:3");
  CHECK(at(index, 6) == "3:1");  // an empty line: only its newline
  CHECK(at(index, 7) == "4:1");
  CHECK(at(index, 8) == "4:2");
  CHECK(at(index, 9) == "4:3");    // the end of a last line without a newline
  CHECK(at(index, 900) == "4:3");  // past the end: the end
  CHECK(at(index, 0) == "1:1");    // asked again after the index is built

  LineIndex ends_with_newline("ab\n");
  CHECK(at(ends_with_newline, 2) == "1:3");
  CHECK(at(ends_with_newline, 3) == "2:1");
  CHECK(at(ends_with_newline, 4) == "2:1");

  LineIndex empty("");
  CHECK(at(empty, 0) == "1:1");
  CHECK(at(empty, 5) == "1:1");
}

TEST_CASE("LineIndex agrees with counting newlines from the start at every offset") {
  const std::string text = "{\n  \"a\": 1,\r\n\n\n  \"b\": [true,\n false]\n}";
  LineIndex index(text);
  for (std::size_t offset = 0; offset <= text.size() + 2; ++offset) {
    std::uint32_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < std::min(offset, text.size()); ++i)
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    const std::size_t column = std::min(offset, text.size()) - line_start + 1;
    INFO("offset " << offset);
    CHECK(at(index, offset) == std::to_string(line) + ":" + std::to_string(column));
  }
}
