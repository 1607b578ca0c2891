// Evaluating a compiled targeting rule (rule_layout.hpp) against an evaluation context, inside a
// seqlock read section. Torn-read safe like the rest of the reader: node indices are checked
// against the rule's node count, operands against their node, recursion against a depth bound,
// and the total work against a step budget. Nothing allocates: strings, arrays and objects that
// the rule builds live in a fixed scratch area on the evaluator; a rule that needs more fails
// (GENERAL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flagd/context.hpp"
#include "flagd/limits.hpp"
#include "flagd/rule_layout.hpp"
#include "flagd/rule_operators.hpp"
#include "image_read.hpp"
#include "rule_nodes.hpp"

namespace flagd::detail {

using limits::kRuleEvalDepth;
using limits::kRuleStepBudget;
using limits::kRuleTextScratch;
using limits::kRuleValueScratch;

// Bytes of string an operator may read per step it is charged (docs/targeting.md): with the
// budget, at most 512 KiB of string read per evaluation, each byte a bounded number of times.
inline constexpr std::uint64_t kRuleBytesPerStep = 8;

struct RuleValue {
  enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;        // Bool: the value; Object: it has at least one member
  bool go_int = false;         // Number: a Go int, not float64 (go_int_zero)
  double number = 0;
  const char* text = nullptr;  // String: its bytes; Object: its JSON text (rule_json.hpp); private memory
  std::uint32_t length = 0;    // String, Object: bytes; Array: elements
  std::uint32_t begin = 0;     // Array: first element in the evaluator's value scratch
  std::uint16_t variant = 0;   // String from a rule constant naming a variant: its index + 1

  std::string_view view() const noexcept { return {text, length}; }
};

enum class RuleOutcome : std::uint8_t {
  Variant,     // the rule chose a variant name (RuleEvaluator::variant())
  Null,        // the rule gave null: the default variant applies
  ParseError,  // flagd: PARSE_ERROR (the engine failed: an unknown operator, operands it cannot take)
  General,     // flagd: GENERAL (a result no variant can be named after, a scratch or step limit)
  Malformed,   // the bytes make no sense (torn, or a broken image)
};

class RuleEvaluator {
 public:
  RuleEvaluator(const SlotView& slot, layout::RuleRef rule, const Context* context,
                layout::StringRef flag_key) noexcept
      : slot_(slot), rule_(rule), context_(context), flag_key_ref_(flag_key) {}

  RuleOutcome run() noexcept;
  // The chosen variant's name, valid after run() returned Variant, until the evaluator goes.
  std::string_view variant() const noexcept { return variant_; }
  // Its index + 1 when the compiler knew it (a constant naming a variant), else 0.
  std::uint16_t variant_index() const noexcept { return variant_index_; }
  // The step budget run() spent: what the tests check the work of an evaluation by.
  std::uint32_t steps() const noexcept { return steps_; }

 private:
  struct Scope;  // the data `var` reads: the context, or an element inside map/filter/reduce
  // An operator's evaluated operands: value slots, or the one value of a single operand that is
  // not an array (RuleOp::Spread).
  struct Args {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
    bool single = false;
    RuleValue value;
  };

  bool eval(std::uint32_t index, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool dispatch(std::uint32_t index, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  // Node `index`; false (with failure_ Malformed) if it cannot be read.
  bool node(std::uint32_t index, layout::RuleNode& out) noexcept;
  bool arg(const layout::RuleNode& n, std::uint32_t i, const Scope& scope, std::uint32_t depth,
           RuleValue& out) noexcept;
  bool operands(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, std::uint32_t& first) noexcept;
  bool values(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, Args& args) noexcept;
  const RuleValue& at(const Args& args, std::uint32_t i) const noexcept { return values_[args.first + i]; }
  const RuleValue& element(const RuleValue& array, std::uint32_t i) const noexcept {
    return values_[array.begin + i];
  }

  // --- values, text and scratch
  bool image_text(std::uint64_t packed_ref, RuleValue& out) noexcept;
  bool push(const RuleValue& v) noexcept;
  bool put_text(std::string_view more) noexcept;  // appends to the text scratch, charged
  RuleValue text_since(std::size_t mark) const noexcept;
  bool go_string(const RuleValue& v, RuleValue& out) noexcept;         // typing.ToString
  bool go_number(const RuleValue& v, double& out) noexcept;            // typing.ToNumber
  bool number_text(double d, std::size_t (*format)(double, char*), RuleValue& out) noexcept;
  bool encode(const RuleValue& v, std::uint32_t depth) noexcept;      // as flagd's engine encodes it
  bool variant_name(const RuleValue& v, RuleValue& out) noexcept;
  bool json_value(std::string_view text, std::uint32_t depth, RuleValue& out) noexcept;
  bool member(const RuleValue& object, std::string_view key, RuleValue& out) noexcept;
  bool apply_object(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  // Nodes compiled at evaluation from JSON text in the text scratch (an object flagd's engine
  // evaluates again as a rule), in the private node buffer: their indices and string offsets
  // carry kDynamic.
  bool dynamic_nodes(std::uint32_t count, std::uint32_t& first) noexcept;
  bool dynamic_value(std::string_view json, std::uint32_t at, bool data, std::uint32_t depth) noexcept;
  template <class Data>
  bool dynamic_elements(std::string_view list, std::uint32_t depth, layout::RuleNode& n, Data&& data) noexcept;
  bool dynamic_operation(std::string_view name_token, std::string_view operand, std::uint32_t at,
                         std::uint32_t depth) noexcept;
  bool dynamic_operation(const OperatorName* known, std::string_view operand, std::uint32_t at,
                         std::uint32_t depth) noexcept;
  bool dynamic_text(std::string_view text, std::uint64_t& packed) noexcept;
  bool in_scratch(std::string_view text) const noexcept;  // whether it lies in the text scratch
  bool spread_operand(const layout::RuleNode& n, bool& spread) noexcept;
  bool rewritten_operands(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool reparse(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  // A new list in the value scratch: `each(element, result)` of each element of the list `list`.
  template <class Each>
  bool map_list(const RuleValue& list, RuleValue& out, Each&& each) noexcept;
  // Go's == between two interface values, which panics on two lists or two objects.
  bool go_equal(const RuleValue& a, const RuleValue& b, bool& equal) noexcept;

  // --- variables
  bool variable(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool var_of(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool rewritten_var_of(std::uint32_t operand, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool kept_from_rewrite(const layout::RuleNode& operand, bool& kept) noexcept;
  bool get_var(const RuleValue& operand, const Scope& scope, RuleValue& out) noexcept;
  bool lookup(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool substitution(std::string_view path, std::uint32_t hash, const Scope& scope, std::uint32_t fallback,
                    std::uint32_t depth, RuleValue& out) noexcept;
  static bool rewrite_level(const Scope& scope, int level, Scope& data) noexcept;
  // What the rewrites around `scope` make of a var, outermost first: the first to resolve it
  // (`resolve(data, out)` against the data it puts in) gives the value, and each rewrite inside
  // it then rewrites that value's vars. Null if none resolves it.
  template <class Resolve>
  bool through_rewrites(const Scope& scope, std::uint32_t depth, RuleValue& out, Resolve&& resolve) noexcept;
  bool rewritten_value(const RuleValue& v, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool solve_vars(const RuleValue& v, const Scope& data, std::uint32_t depth, RuleValue& out) noexcept;
  bool data_lookup(std::string_view path, std::uint32_t hash, const Scope& scope, RuleValue& out) noexcept;
  bool context_lookup(std::string_view path, std::uint32_t hash, RuleValue& out) noexcept;
  bool walk(RuleValue value, std::string_view path, RuleValue& out) noexcept;
  static bool rewritten(const Scope& scope) noexcept;
  bool attribute_value(const Context::Attribute& a, RuleValue& out) noexcept;
  bool json_attribute(const Context::Attribute& a, RuleValue& out) noexcept;
  static RuleValue item_value(const Context::Item& item) noexcept;
  bool context_object(const Context::Attribute* owner, std::uint32_t depth, RuleValue& out) noexcept;
  bool flagd_object(RuleValue& out) noexcept;
  bool scope_data(const Scope& scope, RuleValue& out) noexcept;
  bool flag_key(RuleValue& out) noexcept;
  std::string_view targeting_key() const noexcept;

  // --- iteration
  bool subject(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool raw_value(std::uint32_t index, std::uint32_t depth, RuleValue& out) noexcept;
  bool substituted_var(const layout::RuleNode& var, const Scope& scope, std::uint32_t depth, bool& substituted,
                       RuleValue& value) noexcept;
  bool rewrite_operands(std::uint32_t index, const Scope& data, std::uint32_t depth) noexcept;

  // --- failures and the step budget
  // flagd's engine fails (and flagd answers PARSE_ERROR) on operands of the wrong kind.
  bool engine_error() noexcept;
  // A scratch area or the step budget ran out: GENERAL.
  bool limit_reached() noexcept;
  bool malformed() noexcept;
  // Charges `elements` scanned to the step budget (work that is not a node visit).
  bool charge(std::uint64_t elements) noexcept;
  // Charges reading `bytes` of string: one step per kRuleBytesPerStep.
  bool charge_bytes(std::uint64_t bytes) noexcept;
  // charge_bytes for a value's text, if it is a string.
  bool charge_text(const RuleValue& v) noexcept;

  // --- operators
  bool op_if(const layout::RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
             RuleValue& out) noexcept;
  bool op_and_or(const layout::RuleNode& n, bool is_and, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_not(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_compare(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_arithmetic(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_in(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool in_values(const RuleValue& needle, const RuleValue& haystack, RuleValue& out) noexcept;
  bool op_cat(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_substr(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_merge(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_missing(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_set(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_contains(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_iterate(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_reduce(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_fractional(const layout::RuleNode& n, std::uint32_t index, const Scope& scope, std::uint32_t depth,
                     RuleValue& out) noexcept;
  bool fractional_keys(const Scope& scope, bool& object_data, RuleValue& targeting_key_value,
                       RuleValue& flag_key_value) noexcept;
  bool fractional_constant(const layout::RuleNode& n, std::uint32_t index, bool& handled, RuleValue& out) noexcept;
  bool constant(const layout::RuleNode& c, bool tail, RuleValue& out) noexcept;
  bool op_sem_ver(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool op_affix(const layout::RuleNode& n, bool prefix, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;
  bool affix_values(bool prefix, const RuleValue& a, const RuleValue& b, RuleValue& out) noexcept;
  bool op_attr_test(const layout::RuleNode& n, const Scope& scope, std::uint32_t depth, RuleValue& out) noexcept;

  static constexpr std::uint32_t kDynamic = 0x8000'0000;
  static constexpr std::uint32_t kNoNode = 0xFFFF'FFFF;
  static constexpr std::uint32_t kDynamicNodes = 256;

  const SlotView& slot_;
  layout::RuleRef rule_;
  RuleNodes nodes_;  // the rule's node array, checked to lie in the slot
  std::uint32_t tail_ = 0;            // the node whose value is the rule's answer, if known
  const Context* context_;
  layout::StringRef flag_key_ref_;
  RuleOutcome failure_ = RuleOutcome::General;  // why eval() returned false
  std::uint32_t steps_ = 0;
  std::string_view variant_;
  std::uint16_t variant_index_ = 0;
  // Scratch storage is left uninitialized: an evaluation touches only what it uses (zeroing 20 KiB
  // per evaluation would cost more than the evaluation).
  struct ValueScratch {
    union Slot {
      Slot() noexcept {}
      RuleValue value;
    };
    Slot slots[kRuleValueScratch];
    RuleValue& operator[](std::size_t i) noexcept { return slots[i].value; }
    const RuleValue& operator[](std::size_t i) const noexcept { return slots[i].value; }
  };
  char text_[kRuleTextScratch];
  std::size_t text_used_ = 0;
  ValueScratch values_;
  std::uint32_t values_used_ = 0;
  layout::RuleNode dynamic_[kDynamicNodes];
  std::uint32_t dynamic_used_ = 0;
  // The flag key, copied once per evaluation into a buffer of its own: in the scratch area, the
  // release of a subexpression's text (eval) could hand its bytes to the next string.
  char flag_key_text_[limits::kMaxFlagKeyBytes];
  RuleValue flag_key_{};
  bool flag_key_loaded_ = false;
  double timestamp_ = -1;  // $flagd.timestamp, read once per evaluation
};

// JsonLogic's truthiness: false, null, 0, "", [] and {} are false; everything else (NaN too) true.
bool truthy(const RuleValue& v) noexcept;

// Where `needle` first occurs in `haystack` (npos if nowhere), as string_view::find answers, but
// in time linear in both whatever their bytes: `in` searches context strings, which the rule's
// author does not control, and a naive search of a 200 KB needle in 500 KB takes seconds. The
// Two-Way algorithm (Crochemore and Perrin, 1991) needs no table, so nothing allocates.
// `comparisons` receives the byte comparisons made: at most kFindComparisonsPerHaystackByte per
// haystack byte plus kFindComparisonsPerNeedleByte per needle byte.
inline constexpr std::uint64_t kFindComparisonsPerHaystackByte = 2;
inline constexpr std::uint64_t kFindComparisonsPerNeedleByte = 5;
std::size_t find_text(std::string_view haystack, std::string_view needle, std::uint64_t& comparisons) noexcept;

}  // namespace flagd::detail
