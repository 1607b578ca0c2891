#include "campaign.hpp"

#include <set>

namespace flagd::oracle {

namespace {

std::string request_type(const Case& c, std::size_t r) {
  if (r >= c.requests.size()) return "";
  const Json* t = c.requests[r].find("type");
  return t && t->is_string() ? t->text : "";
}

// The operators a file's rules use: the names of the one-member objects inside "targeting"
// and "$evaluators" (a one-member object is an operation).
void collect_operators(const Json& node, bool in_rule, std::set<std::string>& out) {
  if (in_rule && node.is_object() && node.keys.size() == 1) out.insert(node.keys[0]);
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    const Json& child = node.items[i];
    if (!in_rule && node.is_object() && node.keys[i] == "$evaluators") {
      for (const auto& body : child.items) collect_operators(body, true, out);  // the bodies, not the names
      continue;
    }
    collect_operators(child, in_rule || (node.is_object() && node.keys[i] == "targeting"), out);
  }
}

std::string operators_of(const Json& node, bool in_rule = false) {
  std::set<std::string> ops;
  collect_operators(node, in_rule, ops);
  std::string s;
  for (const auto& op : ops) s += (s.empty() ? "" : " ") + op;
  return s;
}

// The flag a request asks for, as the case's file holds it (the last of that key).
const Json* targeted_flag(const Case& c, std::size_t r) {
  const Json* key = c.requests[r].find("flag");
  const Json* flags = c.file.find("flags");
  if (!key || !flags) return nullptr;
  const Json* found = nullptr;
  if (flags->is_object()) {
    found = flags->find(key->text);
  } else if (flags->is_array()) {
    for (const auto& f : flags->items) {
      const Json* k = f.is_object() ? f.find("key") : nullptr;
      if (k && k->is_string() && k->text == key->text) found = &f;
    }
  }
  return found;
}

bool shows(const Verdict& v, const std::string& signature) {
  for (const auto& f : v.findings)
    if (f.signature() == signature) return true;
  return false;
}

class Campaign {
 public:
  Campaign(const Engines& engines, const CampaignOptions& options) : engines_(engines), options_(options) {}

  CampaignReport run() {
    for (const auto& [name, c] : options_.given) one(c, "file " + name);
    if (!options_.given.empty()) return std::move(report_);
    for (const auto seed : options_.seeds) {
      for (std::size_t i = options_.first_case; i < options_.first_case + options_.cases_per_seed; ++i) {
        Rng rng(case_seed(seed, i));
        const Case c = generate_case(rng, options_.generator);
        one(c, "seed " + std::to_string(seed) + " case " + std::to_string(i) + " (`--seed " + std::to_string(seed) +
                   " --only " + std::to_string(i) + "`)");
      }
    }
    return std::move(report_);
  }

 private:
  void one(const Case& c, const std::string& origin) {
    ++report_.cases;
    report_.requests += c.requests.size();
    const Runs runs = run_both(c, engines_);
    const Verdict v = judge(c, runs);
    report_.compared += v.compared;
    const bool served = !v.go_refused && runs.go.answers.size() == c.requests.size();
    if (v.go_refused) ++report_.go_refused_files;
    if (served) report_.served += c.requests.size();
    if (v.go_refused && v.flagctl_refused) ++report_.both_refused_files;
    if (served)
      for (const auto& a : runs.go.answers) {
        const Json* reason = a.find("reason");
        const Json* code = a.find("errorCode");
        ++report_.answers[(reason ? dump(*reason) : "") + "/" + (code ? dump(*code) : "")];
      }
    for (const auto& f : v.findings) {
      switch (f.kind) {
        case Finding::Kind::Answer: ++report_.disagreeing; break;
        case Finding::Kind::FlagctlServesRefused: ++report_.flagctl_serves_refused; break;
        case Finding::Kind::FlagctlRefusesServed: ++report_.flagctl_refuses_served; break;
        case Finding::Kind::FlagctlBroken: ++report_.flagctl_broken; break;
        case Finding::Kind::GoBroken:
          ++report_.go_broken;
          if (report_.go_broken_cases.size() < 5)
            report_.go_broken_cases.push_back(f.note + "\n" + printable(c));
          continue;
      }
      const std::string signature = f.signature();
      ++report_.per_signature[signature];
      // A few of each kind are shrunk: one per set of operators in the flag's rule.
      // (a refusal is of the file: the request's type does not tell causes apart)
      std::string fine = signature;
      if (f.kind == Finding::Kind::Answer) fine += " " + request_type(c, f.request);
      if (f.kind == Finding::Kind::Answer)
        if (const Json* flag = targeted_flag(c, f.request))
          if (const Json* rule = flag->is_object() ? flag->find("targeting") : nullptr)
            fine += " " + operators_of(*rule, true);
      if (shrunk_fine_.count(fine) || shrunk_per_kind_[signature] >= options_.shrinks_per_kind ||
          shrinks_ >= options_.max_shrinks)
        continue;
      shrunk_fine_.insert(fine);
      ++shrunk_per_kind_[signature];
      ++shrinks_;
      minimise(c, f, signature, origin);
    }
  }

  void minimise(const Case& c, const Finding& f, const std::string& signature, const std::string& origin) {
    const auto still = [&](const Case& candidate) { return shows(judge(candidate, engines_), signature); };
    Case start = c;
    if (f.kind == Finding::Kind::Answer) {
      Case alone = c;
      alone.requests = {c.requests[f.request]};
      if (still(alone)) start = std::move(alone);
    }
    const ShrinkResult shrunk = shrink(start, still, options_.shrink);
    Distinct d;
    d.signature = signature;
    d.minimal = shrunk.minimal;
    d.checks = shrunk.checks;
    d.origin = origin;
    d.cause = signature + (f.kind == Finding::Kind::Answer ? " [" + request_type(d.minimal, 0) + "] " : " ") +
              operators_of(d.minimal.file);
    const Runs runs = run_both(d.minimal, engines_, true);
    const Verdict v = judge(d.minimal, runs);
    for (const auto& g : v.findings)
      if (g.signature() == signature) {
        d.flagctl = g.flagctl;
        d.go = g.go;
        d.note = g.note;
        if (g.kind == Finding::Kind::Answer && g.request < d.minimal.requests.size()) {
          // the one request that disagrees, first
          std::swap(d.minimal.requests[0], d.minimal.requests[g.request]);
        }
        break;
      }
    for (auto& known : report_.distinct)
      if (known.cause == d.cause) {
        ++known.occurrences;
        if (file_text(d.minimal).size() + requests_text(d.minimal).size() <
            file_text(known.minimal).size() + requests_text(known.minimal).size()) {
          const auto n = known.occurrences;
          known = std::move(d);
          known.occurrences = n;
        }
        return;
      }
    if (options_.progress) options_.progress(d.cause + "\n" + printable(d.minimal));
    report_.distinct.push_back(std::move(d));
  }

  const Engines& engines_;
  const CampaignOptions& options_;
  CampaignReport report_;
  std::set<std::string> shrunk_fine_;
  std::map<std::string, int> shrunk_per_kind_;
  int shrinks_ = 0;
};

}  // namespace

std::uint64_t case_seed(std::uint64_t seed, std::size_t index) { return (seed << 32) ^ index; }

CampaignReport run_campaign(const Engines& engines, const CampaignOptions& options) {
  return Campaign(engines, options).run();
}

std::string render(const CampaignReport& r, const std::string& command) {
  std::string out = "# flagctl against flagd's Go engine\n\n";
  out += "Command: `" + command + "`\n\n";
  out += "- cases (flag files): " + std::to_string(r.cases) + "\n";
  out += "- requests asked: " + std::to_string(r.requests) + "\n";
  out += "- requests in files flagd serves: " + std::to_string(r.served) + "\n";
  out += "- requests compared (files both engines serve): " + std::to_string(r.compared) + "\n";
  out += "- requests answered differently: " + std::to_string(r.disagreeing) + "\n";
  out += "- files flagd refuses (PROVIDER_NOT_READY): " + std::to_string(r.go_refused_files) + ", of which flagctl " +
         "refuses too: " + std::to_string(r.both_refused_files) + ", flagctl serves: " +
         std::to_string(r.flagctl_serves_refused) + "\n";
  out += "- files flagctl refuses and flagd serves: " + std::to_string(r.flagctl_refuses_served) + "\n";
  out += "- flagctl crashed, hung or answered the wrong number of lines: " + std::to_string(r.flagctl_broken) + "\n";
  out += "- go-oracle failed (not judged): " + std::to_string(r.go_broken) + "\n";
  out += "- distinct minimal disagreements: " + std::to_string(r.distinct.size()) + "\n\n";
  out += "flagd's answers in the files it serves (reason/errorCode):";
  for (const auto& [k, n] : r.answers) out += " " + k + " " + std::to_string(n) + ";";
  out += "\n\n## Findings per kind\n\n";
  for (const auto& [k, n] : r.per_signature) out += "- " + std::to_string(n) + " x " + k + "\n";
  std::map<std::string, std::vector<const Distinct*>> groups;
  for (const auto& d : r.distinct) groups[d.signature].push_back(&d);
  std::size_t number = 0;
  for (const auto& [signature, list] : groups) {
    out += "\n## " + signature + "\n";
    for (const Distinct* d : list) {
      out += "\n### " + std::to_string(++number) + ". " + d->cause + "\n\n";
      out += "Shrunk " + std::to_string(d->occurrences) + " time(s) to this; first from " + d->origin + ".\n\n";
      out += "```\n" + printable(d->minimal) + "```\n\n";
      out += "- flagctl: `" + dump(d->flagctl) + "`\n";
      out += "- flagd:   `" + dump(d->go) + "`\n";
      if (!d->note.empty()) out += "- stderr: `" + d->note + "`\n";
    }
  }
  if (!r.go_broken_cases.empty()) {
    out += "\n## Cases go-oracle failed on (not judged)\n\n";
    for (const auto& c : r.go_broken_cases) out += "```\n" + c + "```\n";
  }
  return out;
}

}  // namespace flagd::oracle
