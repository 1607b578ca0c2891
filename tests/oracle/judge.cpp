#include "judge.hpp"

#include <set>

namespace flagd::oracle {

namespace {

const Json kNull;

const Json& member(const Json& answer, std::string_view name) {
  const Json* m = answer.is_object() ? answer.find(name) : nullptr;
  return m ? *m : kNull;
}

std::string text_of(const Json& answer, std::string_view name) {
  const Json& m = member(answer, name);
  return m.is_string() ? m.text : dump(m);
}

bool refused_by_go(const Run& go) {
  return !go.answers.empty() && text_of(go.answers.front(), "errorCode") == "PROVIDER_NOT_READY";
}

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return text.substr(0, end == std::string::npos ? text.size() : end);
}

// A refusal's reasons: the error lines (warnings say what was served anyway).
std::string errors_of(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    if (line.find("error") != std::string::npos) out += (out.empty() ? "" : " | ") + line;
    start = end + 1;
  }
  return out.empty() ? first_line(text) : out;
}

// What a refusal's message says, without where or of which names: the error text after its
// "file:line:col: error: json.path: " prefix, with numbers and quoted names blanked, so that
// two refusals for one reason have one signature; a quoted name of an operator flagd runs
// stays ("abs" unsupported is another reason than "nope" unsupported).
bool flagd_operator(const std::string& name) {
  static const std::set<std::string> kOperators = {
      "and", "or", "filter", "map", "reduce", "all", "none", "some", "in", "missing", "missing_some", "var", "set",
      "cat", "substr", "merge", "if", "?:", "max", "min", "+", "-", "*", "/", "%", "abs", "!", "!!", "===", "!==",
      "<", "<=", ">", ">=", "==", "!=", "contains_all", "contains_any", "contains_none", "fractional",
      "starts_with", "ends_with", "sem_ver", "$ref"};
  return kOperators.count(name) == 1;
}

std::string message_class(const std::string& message) {
  std::string m = message;
  if (const auto e = m.find("error: "); e != std::string::npos) {
    m = m.substr(e + 7);
    // the JSON path: up to the first ": " outside brackets and quotes, when it has no blank there
    int depth = 0;
    bool quoted = false, blank = false;
    for (std::size_t i = 0; i + 1 < m.size(); ++i) {
      const char c = m[i];
      if (quoted) {
        if (c == '\\') ++i;
        else if (c == '"') quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '[') {
        ++depth;
      } else if (c == ']') {
        --depth;
      } else if (depth == 0 && c == ' ') {
        blank = true;
      } else if (depth == 0 && c == ':' && m[i + 1] == ' ') {
        if (!blank) m = m.substr(i + 2);
        break;
      }
      if (blank) break;
    }
  } else if (const auto r = m.find("rejected: "); r != std::string::npos) {
    m = m.substr(r + 10);
  }
  if (const auto bar = m.find(" | "); bar != std::string::npos) m.resize(bar);
  std::string out;
  char quote = 0;
  std::string quoted;
  for (const char c : m) {
    if (quote) {
      if (c != quote) {
        quoted += c;
        continue;
      }
      out += quote == '"' && flagd_operator(quoted) ? quoted : "..";
      out += c;
      quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      quoted.clear();
      out += c;
    } else if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != 'N') out += 'N';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

const char* to_string(Finding::Kind kind) {
  switch (kind) {
    case Finding::Kind::Answer: return "answer";
    case Finding::Kind::FlagctlServesRefused: return "flagctl serves a file flagd refuses";
    case Finding::Kind::FlagctlRefusesServed: return "flagctl refuses a file flagd serves";
    case Finding::Kind::FlagctlBroken: return "flagctl broken";
    case Finding::Kind::GoBroken: return "go-oracle broken";
  }
  return "?";
}

std::string Finding::signature() const {
  std::string s = to_string(kind);
  if (kind == Kind::FlagctlRefusesServed || kind == Kind::FlagctlServesRefused) return s + ": " + message_class(note);
  if (kind != Kind::Answer) return s;
  s += ": ";
  for (std::size_t i = 0; i < fields.size(); ++i) s += (i ? "," : "") + fields[i];
  s += "; flagctl " + text_of(flagctl, "reason") + "/" + text_of(flagctl, "errorCode");
  s += ", flagd " + text_of(go, "reason") + "/" + text_of(go, "errorCode");
  return s;
}

std::vector<std::string> differing_fields(const Json& flagctl, const Json& go) {
  std::vector<std::string> out;
  for (const char* field : {"value", "variant", "reason", "errorCode", "flagMetadata"})
    if (!same_value(member(flagctl, field), member(go, field))) out.emplace_back(field);
  return out;
}

Verdict judge(const Case& c, const Runs& runs) {
  Verdict v;
  const std::size_t n = c.requests.size();
  const bool go_ok = runs.go.exit_code == 0 && runs.go.unreadable == 0 && runs.go.answers.size() == n;
  if (!go_ok) {
    Finding f;
    f.kind = Finding::Kind::GoBroken;
    f.note = "exit " + std::to_string(runs.go.exit_code) + ", " + std::to_string(runs.go.answers.size()) + " of " +
             std::to_string(n) + " answers: " + first_line(runs.go.stderr_text);
    v.findings.push_back(std::move(f));
    return v;
  }
  v.go_refused = refused_by_go(runs.go);
  v.flagctl_refused = runs.flagctl.exit_code == 1 && runs.flagctl.answers.empty() && runs.flagctl.unreadable == 0;
  const bool flagctl_ok =
      runs.flagctl.exit_code == 0 && runs.flagctl.unreadable == 0 && runs.flagctl.answers.size() == n;
  if (v.flagctl_refused) {
    if (!v.go_refused) {
      Finding f;
      f.kind = Finding::Kind::FlagctlRefusesServed;
      f.go = runs.go.answers.front();
      f.note = errors_of(runs.flagctl.stderr_text);
      v.findings.push_back(std::move(f));
    }
    return v;
  }
  if (!flagctl_ok) {
    Finding f;
    f.kind = Finding::Kind::FlagctlBroken;
    f.note = "exit " + std::to_string(runs.flagctl.exit_code) + ", " + std::to_string(runs.flagctl.answers.size()) +
             " of " + std::to_string(n) + " answers: " + first_line(runs.flagctl.stderr_text);
    v.findings.push_back(std::move(f));
    return v;
  }
  if (v.go_refused) {
    Finding f;
    f.kind = Finding::Kind::FlagctlServesRefused;
    f.flagctl = runs.flagctl.answers.front();
    f.go = runs.go.answers.front();
    f.note = first_line(runs.go.stderr_text);
    v.findings.push_back(std::move(f));
    return v;
  }
  for (std::size_t i = 0; i < n; ++i) {
    ++v.compared;
    auto fields = differing_fields(runs.flagctl.answers[i], runs.go.answers[i]);
    if (fields.empty()) continue;
    Finding f;
    f.kind = Finding::Kind::Answer;
    f.request = i;
    f.fields = std::move(fields);
    f.flagctl = runs.flagctl.answers[i];
    f.go = runs.go.answers[i];
    v.findings.push_back(std::move(f));
  }
  return v;
}

Verdict judge(const Case& c, const Engines& engines) { return judge(c, run_both(c, engines)); }

}  // namespace flagd::oracle
