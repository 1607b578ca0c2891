#include "shrink.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "generator.hpp"

namespace flagd::oracle {

namespace {

using Path = std::vector<std::size_t>;

// A node to reduce: in the file (request == npos) or in one request.
struct Site {
  std::size_t request;
  Path path;
};
constexpr std::size_t kFile = static_cast<std::size_t>(-1);

std::size_t weight(const Case& c) { return file_text(c).size() + requests_text(c).size(); }

Json* at(Json& root, const Path& path) {
  Json* node = &root;
  for (const std::size_t i : path) {
    if (i >= node->items.size()) return nullptr;
    node = &node->items[i];
  }
  return node;
}

void preorder(const Json& node, Path& path, std::vector<Path>& out) {
  out.push_back(path);
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    path.push_back(i);
    preorder(node.items[i], path, out);
    path.pop_back();
  }
}

std::vector<Site> sites(const Case& c) {
  std::vector<Site> out;
  std::vector<Path> paths;
  Path path;
  preorder(c.file, path, paths);
  for (auto& p : paths) out.push_back({kFile, std::move(p)});
  for (std::size_t r = 0; r < c.requests.size(); ++r) {
    paths.clear();
    preorder(c.requests[r], path, paths);
    for (auto& p : paths) out.push_back({r, std::move(p)});
  }
  return out;
}

// A request's "flag" and "type" members, and the request object itself, stay: without them it
// is no request.
bool protected_site(const Case& c, const Site& s) {
  if (s.request == kFile) return false;
  if (s.path.empty()) return true;
  const std::string& name = c.requests[s.request].keys[s.path[0]];
  return s.path.size() == 1 && (name == "flag" || name == "type");
}

// A context is an object: `"context": null` or an array is a question of the two commands'
// request formats, not of evaluation.
bool requests_well_formed(const Case& c) {
  for (const auto& r : c.requests) {
    const Json* context = r.find("context");
    if (context && !context->is_object()) return false;
  }
  return true;
}

void collect_variant_names(const Json& node, std::vector<std::string>& out) {
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    if (node.is_object() && node.keys[i] == "variants" && node.items[i].is_object())
      for (const auto& k : node.items[i].keys)
        if (out.size() < 6 && std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    collect_variant_names(node.items[i], out);
  }
}

class Shrinker {
 public:
  Shrinker(const std::function<bool(const Case&)>& still, const ShrinkOptions& options)
      : still_(still), options_(options) {}

  ShrinkResult run(const Case& start) {
    ShrinkResult result;
    best_ = start;
    bool progress = true;
    while (progress && !out_of_budget()) {
      progress = false;
      progress |= drop_requests();
      progress |= try_candidate([](Case& c) {
        if (!c.spaced) return false;
        c.spaced = false;
        return true;
      });
      for (std::size_t i = 0; i < sites(best_).size() && !out_of_budget(); ++i) progress |= reduce_site(i);
    }
    result.minimal = best_;
    result.checks = checks_;
    result.exhausted = out_of_budget();
    return result;
  }

 private:
  bool out_of_budget() const { return checks_ >= options_.max_checks; }

  // Runs the candidate `edit` makes of the best case; keeps it when it is shorter, reads the
  // timestamp only in guarded comparisons, and still disagrees.
  template <class Edit>
  bool try_candidate(Edit edit) {
    if (out_of_budget()) return false;
    Case candidate = best_;
    if (!edit(candidate)) return false;
    if (weight(candidate) >= weight(best_)) return false;
    if (!timestamp_reads_are_guarded(candidate.file) || !requests_well_formed(candidate)) return false;
    ++checks_;
    if (!still_(candidate)) return false;
    best_ = std::move(candidate);
    return true;
  }

  bool drop_requests() {
    bool any = false;
    for (std::size_t r = 0; r < best_.requests.size() && best_.requests.size() > 1;) {
      if (try_candidate([r](Case& c) {
            c.requests.erase(c.requests.begin() + static_cast<std::ptrdiff_t>(r));
            return true;
          })) {
        any = true;
      } else {
        ++r;
      }
    }
    return any;
  }

  static Json& root(Case& c, const Site& s) { return s.request == kFile ? c.file : c.requests[s.request]; }

  // Every reduction of the node at site `index`, tried in order until one is kept; after a kept
  // one the node now at that index is tried again.
  bool reduce_site(std::size_t index) {
    bool any = false;
    for (bool again = true; again && !out_of_budget();) {
      again = false;
      const auto all = sites(best_);
      if (index >= all.size()) break;
      const Site site = all[index];
      if (protected_site(best_, site)) break;
      const Json node = *at(root(best_, site), site.path);
      const auto kept = [&](auto edit) {
        if (try_candidate(edit)) {
          any = again = true;
          return true;
        }
        return false;
      };
      // drop it from its array or object
      if (!site.path.empty() && kept([&](Case& c) {
            Path parent_path(site.path.begin(), site.path.end() - 1);
            Json* parent = at(root(c, site), parent_path);
            const auto i = static_cast<std::ptrdiff_t>(site.path.back());
            parent->items.erase(parent->items.begin() + i);
            if (parent->is_object()) parent->keys.erase(parent->keys.begin() + i);
            return true;
          }))
        continue;
      // replace it by one of its children, or an operation by one of its operands
      std::vector<Json> replacements = node.items;
      if (node.is_object() && node.items.size() == 1 && node.items[0].is_array())
        for (const auto& operand : node.items[0].items) replacements.push_back(operand);
      // or by a constant
      std::vector<std::string> names;
      collect_variant_names(best_.file, names);
      replacements.push_back(Json::null());
      replacements.push_back(Json::of(false));
      replacements.push_back(Json::of(true));
      replacements.push_back(Json::number("0"));
      replacements.push_back(Json::string(""));
      for (const auto& n : names) replacements.push_back(Json::string(n));
      for (const auto& r : replacements) {
        if (dump(r) == dump(node)) continue;
        if (kept([&](Case& c) {
              *at(root(c, site), site.path) = r;
              return true;
            }))
          break;
      }
    }
    return any;
  }

  const std::function<bool(const Case&)>& still_;
  ShrinkOptions options_;
  Case best_;
  int checks_ = 0;
};

}  // namespace

ShrinkResult shrink(const Case& start, const std::function<bool(const Case&)>& still, const ShrinkOptions& options) {
  return Shrinker(still, options).run(start);
}

}  // namespace flagd::oracle
