#include "ctrl/config/toml_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

// Header-only and without exceptions: parse errors come back as values (toml::parse_result),
// and this one file is the only user of toml++, so no other TU sees these settings.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace braid::ctrl {
namespace {

std::string join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

// "links[].name" → "links[]"; "gateway" → "".
std::string_view parentOf(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

std::string_view lastOf(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

const char* nodeTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string rangeError(const Value& value, const KeySpec& spec, KeyType type) {
  double v = 0;
  if (const auto* i = std::get_if<int64_t>(&value)) v = static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) v = *d;
  if (spec.min && v < *spec.min) {
    return renderValue(value) + " is below the minimum " + renderBound(*spec.min, type);
  }
  if (spec.max && v > *spec.max) {
    return renderValue(value) + " is above the maximum " + renderBound(*spec.max, type);
  }
  return {};
}

// The node as the spec's type, or an error message.
tl::expected<Value, std::string> convert(const KeySpec& spec, const toml::node& node) {
  auto got = [&](const char* expected) {
    return tl::unexpected(std::string("expected ") + expected + ", got " +
                          nodeTypeName(node.type()));
  };
  switch (spec.type) {
    case KeyType::kInteger: {
      const auto* i = node.as_integer();
      if (i == nullptr) return got("an integer");
      Value value = i->get();
      if (auto error = rangeError(value, spec, KeyType::kInteger); !error.empty()) {
        return tl::unexpected(error);
      }
      return value;
    }
    case KeyType::kFloat: {
      double d = 0;
      if (const auto* f = node.as_floating_point()) {
        d = f->get();
      } else if (const auto* i = node.as_integer()) {
        d = static_cast<double>(i->get());
      } else {
        return got("a number");
      }
      if (!std::isfinite(d)) return tl::unexpected(renderValue(d) + " is not a finite number");
      if (auto error = rangeError(d, spec, KeyType::kFloat); !error.empty()) {
        return tl::unexpected(error);
      }
      return Value{d};
    }
    case KeyType::kBool: {
      const auto* b = node.as_boolean();
      if (b == nullptr) return got("true or false");
      return Value{b->get()};
    }
    case KeyType::kTableArray:
      return got("an array of tables");
    case KeyType::kString:
    case KeyType::kEnum:
    case KeyType::kSocketAddress:
    case KeyType::kPath:
      break;
  }
  const auto* s = node.as_string();
  if (s == nullptr) return got("a string");
  const std::string& text = s->get();
  std::string error;
  if (spec.type == KeyType::kPath && text.empty()) error = "must not be empty";
  if (spec.type == KeyType::kSocketAddress) error = checkSocketAddress(text);
  if (spec.type == KeyType::kEnum &&
      std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
    error = renderValue(text) + " is not one of ";
    for (size_t i = 0; i < spec.choices.size(); ++i) error += (i ? ", " : "") + spec.choices[i];
  }
  if (error.empty() && spec.check != nullptr) error = spec.check(text);
  if (!error.empty()) return tl::unexpected(error);
  return Value{text};
}

class Reader {
 public:
  Reader(const std::vector<KeySpec>& specs, ReadResult& out)
      : specs_(specs), parents_(parentFields(specs)), seen_(specs.size()), out_(out) {
    for (size_t i = 0; i < specs.size(); ++i) {
      byPath_.emplace(specs[i].path, i);
      for (std::string_view p = parentOf(specs[i].path); !p.empty(); p = parentOf(p)) {
        if (p.size() < 2 || p.substr(p.size() - 2) != "[]") tables_.emplace(p);
      }
    }
  }

  void walk(const toml::table& table, const std::string& prefix, const std::string& concrete,
            size_t index) {
    for (auto&& [key, node] : table) {
      std::string path = join(prefix, key.str());
      std::string name = join(concrete, key.str());
      uint32_t line = key.source().begin.line;
      out_.lines.emplace(name, line);
      if (auto it = byPath_.find(path); it != byPath_.end()) {
        if (specs_[it->second].type == KeyType::kTableArray) {
          readArray(it->second, node, name, line);
        } else if (auto value = convert(specs_[it->second], node); value) {
          seen_[it->second].insert(index);
          out_.flat.slots.push_back({it->second, index, std::move(*value)});
        } else {
          seen_[it->second].insert(index);  // present, if wrong: no "missing" error too
          error(name, line, value.error());
        }
      } else if (tables_.count(path) > 0) {
        if (const auto* sub = node.as_table()) {
          walk(*sub, path, name, index);
        } else {
          error(name, line, std::string("expected a table, got ") + nodeTypeName(node.type()));
        }
      } else {
        error(name, line, "unknown key" + suggestion(prefix, key.str()));
      }
    }
  }

  // Required top-level keys that the walk never saw.
  void checkMissing() {
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (!specs_[i].required || parents_[i] != SIZE_MAX || !seen_[i].empty()) continue;
      auto section = out_.lines.find(parentOf(specs_[i].path));
      error(specs_[i].path, section == out_.lines.end() ? 0 : section->second,
            "required key is missing");
    }
  }

 private:
  void readArray(size_t field, const toml::node& node, const std::string& name, uint32_t line) {
    const KeySpec& spec = specs_[field];
    const auto* array = node.as_array();
    bool tables = array != nullptr;
    for (size_t j = 0; tables && j < array->size(); ++j) tables = (*array)[j].is_table();
    if (!tables) {
      error(name, line,
            "expected an array of tables ([[" + spec.path + "]]), got " +
                (array ? "an array of values" : nodeTypeName(node.type())));
      seen_[field].insert(0);
      return;
    }
    seen_[field].insert(0);
    out_.flat.counts[field] = array->size();
    auto count = static_cast<double>(array->size());
    if (spec.min && count < *spec.min) {
      error(name, line,
            std::to_string(array->size()) + " tables, at least " +
                renderBound(*spec.min, KeyType::kInteger) + " required");
    } else if (spec.max && count > *spec.max) {
      error(name, line,
            std::to_string(array->size()) + " tables, at most " +
                renderBound(*spec.max, KeyType::kInteger) + " allowed");
    }
    for (size_t j = 0; j < array->size(); ++j) {
      const toml::table& element = *(*array)[j].as_table();
      std::string elementName = name + "[" + std::to_string(j) + "]";
      uint32_t elementLine = element.source().begin.line;
      out_.lines.emplace(elementName, elementLine);
      walk(element, spec.path + "[]", elementName, j);
      for (size_t i = 0; i < specs_.size(); ++i) {
        if (parents_[i] == field && specs_[i].required && seen_[i].count(j) == 0) {
          error(elementName + "." + std::string(lastOf(specs_[i].path)), elementLine,
                "required key is missing");
        }
      }
    }
  }

  // " (did you mean gateway.listen?)" for a near miss among the keys of `prefix`.
  std::string suggestion(const std::string& prefix, std::string_view key) const {
    std::string best;
    size_t bestDistance = 3;
    auto consider = [&](std::string_view path) {
      if (parentOf(path) != prefix) return;
      size_t d = editDistance(lastOf(path), key);
      if (d < bestDistance) bestDistance = d, best = std::string(path);
    };
    for (const KeySpec& spec : specs_) consider(spec.path);
    for (const std::string& table : tables_) consider(table);
    if (best.empty()) return {};
    auto mark = best.find("[]");
    if (mark != std::string::npos) best = best.substr(mark + 3);  // name it as the file does
    return " (did you mean " + best + "?)";
  }

  void error(const std::string& key, uint32_t line, std::string message) {
    out_.badKeys.insert(key);
    out_.errors.push_back({out_.file, line, key, std::move(message)});
  }

  const std::vector<KeySpec>& specs_;
  std::vector<size_t> parents_;
  std::map<std::string, size_t, std::less<>> byPath_;
  std::set<std::string, std::less<>> tables_;
  std::vector<std::set<size_t>> seen_;  // per field: the table indexes it appeared in
  ReadResult& out_;
};

}  // namespace

void ReadResult::fail(const std::string& key, std::string message) {
  auto it = lines.find(key);
  errors.push_back({file, it == lines.end() ? 0 : it->second, key, std::move(message)});
  badKeys.insert(key);
}

bool ReadResult::anyBad(std::initializer_list<std::string_view> keys) const {
  for (std::string_view key : keys) {
    if (badKeys.count(key) > 0) return true;
  }
  return false;
}

ReadResult readToml(std::string_view text, std::string_view name,
                    const std::vector<KeySpec>& specs) {
  ReadResult out;
  out.file = std::string(name);
  out.flat.counts.resize(specs.size());
  toml::parse_result parsed = toml::parse(text, name);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    out.syntaxError = true;
    out.errors.push_back({out.file, error.source().begin.line, "",
                          "TOML syntax error: " + std::string(error.description())});
    return out;
  }
  Reader reader(specs, out);
  reader.walk(parsed.table(), "", "", 0);
  reader.checkMissing();
  return out;
}

tl::expected<std::string, ConfigError> readConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(
        ConfigError{path, 0, "", std::string("cannot open: ") + std::strerror(errno)});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return tl::unexpected(ConfigError{path, 0, "", "read failed"});
  return text.str();
}

}  // namespace braid::ctrl
