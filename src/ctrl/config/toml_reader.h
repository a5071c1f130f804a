#pragma once

// Reads a TOML document against a schema: syntax, unknown keys, types, ranges, enum values,
// addresses, required keys and table counts, one ConfigError per problem. Cross-key checks
// (min < max, unique names) belong to each config and run on the result through buildConfig.

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctrl/config/schema.h"
#include "dataplane/proto/result.h"

namespace braid::ctrl {

struct ReadResult {
  std::string file;  // the name errors carry
  FlatConfig flat;
  std::map<std::string, uint32_t, std::less<>> lines;  // concrete key ("links[1].name") → line
  std::set<std::string, std::less<>> badKeys;          // concrete keys that already have an error
  std::vector<ConfigError> errors;
  bool syntaxError = false;

  // Adds an error about a combination of keys at `key`'s line. Any thread (owns no shared state).
  void fail(const std::string& key, std::string message);

  // True if any of `keys` already has an error, so a check that combines them would mislead.
  bool anyBad(std::initializer_list<std::string_view> keys) const;
};

// Parses `text` (errors name it `name`) and checks it against `specs`. Any thread.
// Returns the values found and every problem; absent keys have no slot.
ReadResult readToml(std::string_view text, std::string_view name,
                    const std::vector<KeySpec>& specs);

// Reads the whole file at `path`. Returns its text, or an error naming the file.
tl::expected<std::string, ConfigError> readConfigFile(const std::string& path);

// Reads `text` into a T (defaults from T{}), then runs `crossCheck(const T&, ReadResult&)`.
// Any thread. Returns the config, or every error sorted by line.
template <typename T, typename CrossCheck>
ConfigResult<T> buildConfig(const Schema<T>& schema, std::string_view text, std::string_view name,
                            CrossCheck&& crossCheck) {
  ReadResult read = readToml(text, name, specsOf(schema));
  T config{};
  if (!read.syntaxError) {
    apply(schema, read.flat, config);
    crossCheck(std::as_const(config), read);
  }
  if (!read.errors.empty()) {
    sortErrors(read.errors);
    return tl::unexpected(std::move(read.errors));
  }
  return config;
}

// `checked` with its errors joined into one kParse Error, one per line.
template <typename T>
Result<T> toResult(ConfigResult<T>&& checked) {
  if (!checked) return fail(ErrorCode::kParse, joinErrors(checked.error()));
  return std::move(*checked);
}

// Reads the file at `path` and checks it with `check(text, name)`. Returns the config, or a
// kIo Error for an unreadable file, or every problem as one kParse Error.
template <typename T, typename Check>
Result<T> loadConfigFile(const std::string& path, Check&& check) {
  auto text = readConfigFile(path);
  if (!text) return fail(ErrorCode::kIo, text.error().describe());
  return toResult<T>(check(*text, path));
}

}  // namespace braid::ctrl
