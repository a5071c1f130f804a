#pragma once

// A small schema engine for the TOML config files: every key is one Field (dotted path, type,
// range, reload class, description) bound to a member of a plain aggregate. The aggregate's own
// member initializers are the defaults, so the docs, the effective-config renderer and the diff
// all read them from one place. toml++ stays out of this header (toml_reader.cpp only).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

namespace braid::ctrl {

enum class KeyType { kString, kInteger, kFloat, kBool, kEnum, kSocketAddress, kPath, kTableArray };

// Whether a change takes effect on SIGHUP or only after a restart.
enum class Reload { kRestart, kLive };

// One value of one key; monostate means "not set" (an unset std::optional member).
using Value = std::variant<std::monostate, bool, int64_t, double, std::string>;

// Extra check for a string value; returns an error message, or an empty string if it is fine.
using StringCheck = std::string (*)(std::string_view value);

struct KeySpec {
  std::string path;  // "gateway.listen"; keys of [[links]] tables are "links[].name"
  KeyType type = KeyType::kString;
  Reload reload = Reload::kRestart;
  bool required = false;
  std::optional<double> min;  // integer/float value range; table count for kTableArray
  std::optional<double> max;
  std::vector<std::string> choices;  // kEnum
  StringCheck check = nullptr;
  std::string description;  // one line, no '|'
  Value defaultValue;       // filled by field() from the aggregate's member initializer

  // Chained modifiers, so one schema entry stays one expression:
  //   key("latency.min_ms", KeyType::kInteger, "lowest target latency").range(20, 60000)
  KeySpec live() && {
    reload = Reload::kLive;
    return std::move(*this);
  }
  KeySpec mandatory() && {
    required = true;
    return std::move(*this);
  }
  KeySpec range(double lo, double hi) && {
    min = lo;
    max = hi;
    return std::move(*this);
  }
  KeySpec atLeast(double lo) && {
    min = lo;
    return std::move(*this);
  }
  KeySpec oneOf(std::vector<std::string> values) && {
    choices = std::move(values);
    return std::move(*this);
  }
  KeySpec checkedBy(StringCheck fn) && {
    check = fn;
    return std::move(*this);
  }
};

// A key at `path` (restart-only, optional, unbounded until modified).
inline KeySpec key(std::string path, KeyType type, std::string description) {
  KeySpec spec;
  spec.path = std::move(path);
  spec.type = type;
  spec.description = std::move(description);
  return spec;
}

// One problem in a config file; describe() gives "file:line: key: message".
struct ConfigError {
  std::string file;
  uint32_t line = 0;  // 0: no line (a missing key, an unreadable file)
  std::string key;    // concrete key, e.g. "links[1].name"; empty for syntax errors
  std::string message;

  std::string describe() const;
  bool operator==(const ConfigError&) const = default;
};

template <typename T>
using ConfigResult = tl::expected<T, std::vector<ConfigError>>;

// One changed key between two configs, for SIGHUP.
struct ConfigChange {
  std::string key;  // "log.level", "links[1].device", or "links" when the table count changed
  std::string before;
  std::string after;
  Reload reload = Reload::kRestart;
};

// One row of docs/config.md.
struct KeyDoc {
  std::string key, type, defaultValue, range, reload, description;
};

// All values of a config, by schema field: what the reader produces and the renderer consumes.
struct Slot {
  size_t field = 0;
  size_t index = 0;  // index into the parent table array; 0 for top-level keys
  Value value;
};
struct FlatConfig {
  std::vector<Slot> slots;
  std::vector<std::optional<size_t>> counts;  // per field: table count of a kTableArray
};

template <typename T>
struct Field {
  KeySpec spec;
  std::function<Value(const T&, size_t)> get;
  std::function<void(T&, size_t, const Value&)> set;
  std::function<size_t(const T&)> count;  // kTableArray only
  std::function<void(T&, size_t)> resize;
};

template <typename T>
using Schema = std::vector<Field<T>>;

namespace config_detail {

template <typename M>
struct IsOptional : std::false_type {
  using Inner = M;
};
template <typename M>
struct IsOptional<std::optional<M>> : std::true_type {
  using Inner = M;
};

template <typename M>
Value toValue(const M& member) {
  if constexpr (IsOptional<M>::value) {
    return member ? toValue(*member) : Value{};
  } else if constexpr (std::is_same_v<M, std::string>) {
    return member;
  } else if constexpr (std::is_same_v<M, bool>) {
    return member;
  } else if constexpr (std::is_integral_v<M>) {
    return static_cast<int64_t>(member);
  } else {
    static_assert(std::is_floating_point_v<M>, "unsupported config member type");
    return static_cast<double>(member);
  }
}

// The reader has checked type and range, so a mismatch here is a schema bug: it is ignored.
template <typename M>
void fromValue(const Value& value, M& member) {
  if constexpr (IsOptional<M>::value) {
    if (std::holds_alternative<std::monostate>(value)) {
      member.reset();
    } else {
      typename M::value_type inner{};
      fromValue(value, inner);
      member = inner;
    }
  } else if constexpr (std::is_same_v<M, std::string> || std::is_same_v<M, bool>) {
    if (const auto* v = std::get_if<M>(&value)) member = *v;
  } else if constexpr (std::is_integral_v<M>) {
    if (const auto* v = std::get_if<int64_t>(&value)) member = static_cast<M>(*v);
  } else {
    if (const auto* v = std::get_if<double>(&value)) member = static_cast<M>(*v);
  }
}

// Unsigned members get their type's bounds when the schema names none, so no value can wrap.
template <typename M>
void boundUnsigned(KeySpec& spec) {
  using Inner = typename IsOptional<M>::Inner;
  if constexpr (std::is_unsigned_v<Inner> && !std::is_same_v<Inner, bool>) {
    if (!spec.min) spec.min = 0;
    if (!spec.max) {
      spec.max = static_cast<double>(
          std::min<uint64_t>(std::numeric_limits<Inner>::max(), uint64_t{1} << 53));
    }
  }
}

}  // namespace config_detail

// A top-level key bound to `member` of T; its default is T{}.*member.
template <typename T, typename M>
Field<T> field(M T::*member, KeySpec spec) {
  config_detail::boundUnsigned<M>(spec);
  spec.defaultValue = config_detail::toValue(T{}.*member);
  return {.spec = std::move(spec),
          .get = [member](const T& c, size_t) { return config_detail::toValue(c.*member); },
          .set = [member](T& c, size_t, const Value& v) { config_detail::fromValue(v, c.*member); },
          .count = nullptr,
          .resize = nullptr};
}

// A key of the tables in `array` (spec.path "name[].key"), bound to `member` of E.
template <typename T, typename E, typename M>
Field<T> field(std::vector<E> T::*array, M E::*member, KeySpec spec) {
  config_detail::boundUnsigned<M>(spec);
  spec.defaultValue = config_detail::toValue(E{}.*member);
  return {
      .spec = std::move(spec),
      .get = [array, member](const T& c,
                             size_t i) { return config_detail::toValue((c.*array)[i].*member); },
      .set = [array, member](
                 T& c, size_t i,
                 const Value& v) { config_detail::fromValue(v, (c.*array)[i].*member); },
      .count = nullptr,
      .resize = nullptr};
}

// An array of tables ([[name]]) bound to `array`; its keys are declared with the field above.
template <typename T, typename E>
Field<T> tableArray(std::vector<E> T::*array, KeySpec spec) {
  spec.type = KeyType::kTableArray;
  return {.spec = std::move(spec),
          .get = nullptr,
          .set = nullptr,
          .count = [array](const T& c) { return (c.*array).size(); },
          .resize = [array](T& c, size_t n) { (c.*array).resize(n); }};
}

// For each spec, the index of the table array that holds it, or SIZE_MAX for top-level keys.
std::vector<size_t> parentFields(const std::vector<KeySpec>& specs);

template <typename T>
std::vector<KeySpec> specsOf(const Schema<T>& schema) {
  std::vector<KeySpec> specs;
  specs.reserve(schema.size());
  for (const auto& f : schema) specs.push_back(f.spec);
  return specs;
}

// Every value of `config`, by field. Any thread. Returns the flat form of `config`.
template <typename T>
FlatConfig flatten(const Schema<T>& schema, const T& config) {
  FlatConfig flat;
  flat.counts.resize(schema.size());
  std::vector<size_t> parents = parentFields(specsOf(schema));
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].spec.type == KeyType::kTableArray) flat.counts[i] = schema[i].count(config);
  }
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].spec.type == KeyType::kTableArray) continue;
    size_t n = parents[i] == SIZE_MAX ? 1 : flat.counts[parents[i]].value_or(0);
    for (size_t j = 0; j < n; ++j) flat.slots.push_back({i, j, schema[i].get(config, j)});
  }
  return flat;
}

// Writes the values of `flat` into `config` (keys absent from `flat` keep their defaults).
template <typename T>
void apply(const Schema<T>& schema, const FlatConfig& flat, T& config) {
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].spec.type == KeyType::kTableArray && flat.counts[i]) {
      schema[i].resize(config, *flat.counts[i]);
    }
  }
  for (const Slot& slot : flat.slots) schema[slot.field].set(config, slot.index, slot.value);
}

// `value` as a TOML literal ("text", 42, 1.5, true); "not set" for monostate.
std::string renderValue(const Value& value);

// A range bound as shown in messages and docs: "20", or "0.5" for a fractional float bound.
std::string renderBound(double bound, KeyType type);

// The whole config as TOML, every key written (unset optional keys as a comment).
std::string renderToml(const std::vector<KeySpec>& specs, const FlatConfig& flat);

// Keys whose values differ between `before` and `after`, in schema order.
std::vector<ConfigChange> diffFlat(const std::vector<KeySpec>& specs, const FlatConfig& before,
                                   const FlatConfig& after);

// True if any change in `changes` needs a restart.
bool needsRestart(const std::vector<ConfigChange>& changes);

// The docs/config.md rows of `specs`.
std::vector<KeyDoc> documentKeys(const std::vector<KeySpec>& specs);

// Checks "IPV4:PORT", "[IPV6]:PORT" or "localhost:PORT" (numeric hosts only, as the sockets
// take them). Returns an error message or an empty string.
std::string checkSocketAddress(std::string_view text);

// Sorts errors by line (keys without a line last), then key.
void sortErrors(std::vector<ConfigError>& errors);

// Errors one per line, in order.
std::string joinErrors(const std::vector<ConfigError>& errors);

}  // namespace braid::ctrl
