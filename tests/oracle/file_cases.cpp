#include "file_cases.hpp"

#include <fstream>
#include <sstream>
#include <vector>

namespace flagd::oracle {

namespace {

// The keys of the file's flags, in the object form or the array form ("key" members).
std::vector<std::string> flag_keys(const Json& file) {
  std::vector<std::string> keys;
  const Json* flags = file.find("flags");
  if (flags == nullptr) return keys;
  if (flags->is_object()) return flags->keys;
  for (const Json& flag : flags->items)
    if (const Json* key = flag.is_object() ? flag.find("key") : nullptr; key != nullptr && key->is_string())
      keys.push_back(key->text);
  return keys;
}

// No attributes; then two sets of what flag files commonly read (email, version, tier, a nested
// user, a targeting key), with different values.
std::vector<Json> contexts() {
  std::vector<Json> out;
  out.push_back(Json::object());
  const struct {
    const char *key, *email, *version, *tier, *name, *color;
    const char* number;
  } sets[] = {{"user-1", "ballmer@macrosoft.com", "2.1.0", "gold", "ann", "yellow", "3"},
              {"user-2", "jobs@orange.com", "1.0.0-rc.1", "basic", "bob", "blue", "-1"}};
  for (const auto& s : sets) {
    Json c = Json::object();
    c.add("targetingKey", Json::string(s.key));
    c.add("email", Json::string(s.email));
    c.add("version", Json::string(s.version));
    c.add("tier", Json::string(s.tier));
    c.add("color", Json::string(s.color));
    c.add("num", Json::number(s.number));
    c.add("id", Json::string(s.key));
    c.add("time", Json::number(s.number));
    Json user = Json::object();
    user.add("name", Json::string(s.name));
    c.add("user", std::move(user));
    out.push_back(std::move(c));
  }
  return out;
}

Json default_of(const std::string& type) {
  if (type == "boolean") return Json::of(false);
  if (type == "string") return Json::string("");
  if (type == "object") return Json::object();
  return Json::number("0");
}

}  // namespace

std::optional<Case> case_of_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string parse_error;
  std::optional<Json> file = parse_json(text.str(), &parse_error);
  if (!file) {
    error = path + ": " + parse_error;
    return std::nullopt;
  }
  Case c;
  c.file = std::move(*file);
  const std::vector<Json> each_context = contexts();
  for (const std::string& key : flag_keys(c.file))
    for (const char* type : {"boolean", "string", "integer", "float", "object"})
      for (const Json& context : each_context) {
        Json r = Json::object();
        r.add("flag", Json::string(key));
        r.add("type", Json::string(type));
        r.add("context", context);
        r.add("default", default_of(type));
        c.requests.push_back(std::move(r));
      }
  return c;
}

}  // namespace flagd::oracle
