#include "ctrl/config/schema.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cmath>
#include <tuple>

namespace braid::ctrl {
namespace {

constexpr std::string_view kArrayMark = "[]";

std::string renderString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string renderDouble(double value) {
  char buf[64];
  // Plain digits where they stay short (100000.0, not 1e+05); shortest round-trip either way.
  double magnitude = std::fabs(value);
  bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e15);
  auto [end, ec] = plain ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed)
                         : std::to_chars(buf, buf + sizeof buf, value);
  std::string out(buf, ec == std::errc() ? end : buf);
  // TOML needs a '.' or an exponent to read the number back as a float.
  if (std::isfinite(value) && out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

// "links[].name" → "links"; "" for top-level keys.
std::string_view arrayOf(std::string_view path) {
  auto mark = path.find(kArrayMark);
  return mark == std::string_view::npos ? std::string_view{} : path.substr(0, mark);
}

// "links[].name" → "name".
std::string_view keyInArray(std::string_view path) {
  return path.substr(path.find(kArrayMark) + kArrayMark.size() + 1);
}

const char* typeName(KeyType type) {
  switch (type) {
    case KeyType::kString:
      return "string";
    case KeyType::kInteger:
      return "integer";
    case KeyType::kFloat:
      return "float";
    case KeyType::kBool:
      return "bool";
    case KeyType::kEnum:
      return "enum";
    case KeyType::kSocketAddress:
      return "socket address";
    case KeyType::kPath:
      return "path";
    case KeyType::kTableArray:
      return "array of tables";
  }
  return "?";
}

std::string concreteKey(const KeySpec& spec, size_t index) {
  std::string_view array = arrayOf(spec.path);
  if (array.empty()) return spec.path;
  return std::string(array) + "[" + std::to_string(index) + "]." +
         std::string(keyInArray(spec.path));
}

// values[field][index], nullptr where `flat` has no value.
std::vector<std::vector<const Value*>> indexSlots(size_t fields, const FlatConfig& flat) {
  std::vector<std::vector<const Value*>> out(fields);
  for (const Slot& slot : flat.slots) {
    auto& row = out.at(slot.field);
    if (row.size() <= slot.index) row.resize(slot.index + 1, nullptr);
    row[slot.index] = &slot.value;
  }
  return out;
}

const Value* valueAt(const std::vector<std::vector<const Value*>>& values, size_t f, size_t i) {
  return i < values[f].size() ? values[f][i] : nullptr;
}

void renderKey(std::string& out, std::string_view key, const Value* value) {
  if (value == nullptr || std::holds_alternative<std::monostate>(*value)) {
    out += "# " + std::string(key) + " is not set\n";
  } else {
    out += std::string(key) + " = " + renderValue(*value) + "\n";
  }
}

}  // namespace

std::string ConfigError::describe() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

std::vector<size_t> parentFields(const std::vector<KeySpec>& specs) {
  std::vector<size_t> parents(specs.size(), SIZE_MAX);
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string_view array = arrayOf(specs[i].path);
    if (array.empty()) continue;
    for (size_t j = 0; j < specs.size(); ++j) {
      if (specs[j].type == KeyType::kTableArray && specs[j].path == array) parents[i] = j;
    }
  }
  return parents;
}

std::string renderValue(const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return renderString(*s);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return renderDouble(*d);
  return "not set";
}

std::string renderBound(double bound, KeyType type) {
  if (type == KeyType::kFloat && bound != std::trunc(bound)) return renderDouble(bound);
  return std::to_string(static_cast<int64_t>(bound));
}

std::string renderToml(const std::vector<KeySpec>& specs, const FlatConfig& flat) {
  auto values = indexSlots(specs.size(), flat);
  std::vector<size_t> parents = parentFields(specs);
  std::string out;
  // Top-level keys grouped by their first path component, in schema order; root keys first.
  std::vector<std::string> sections{""};
  for (size_t i = 0; i < specs.size(); ++i) {
    if (parents[i] != SIZE_MAX || specs[i].type == KeyType::kTableArray) continue;
    auto dot = specs[i].path.find('.');
    std::string section = dot == std::string::npos ? "" : specs[i].path.substr(0, dot);
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      sections.push_back(section);
    }
  }
  for (const std::string& section : sections) {
    if (!section.empty()) out += (out.empty() ? "[" : "\n[") + section + "]\n";
    for (size_t i = 0; i < specs.size(); ++i) {
      if (parents[i] != SIZE_MAX || specs[i].type == KeyType::kTableArray) continue;
      const std::string& path = specs[i].path;
      if (section.empty() ? path.find('.') != std::string::npos
                          : path.rfind(section + ".", 0) != 0) {
        continue;
      }
      renderKey(out, section.empty() ? path : path.substr(section.size() + 1),
                valueAt(values, i, 0));
    }
  }
  for (size_t a = 0; a < specs.size(); ++a) {
    if (specs[a].type != KeyType::kTableArray) continue;
    size_t count = flat.counts.size() > a ? flat.counts[a].value_or(0) : 0;
    for (size_t j = 0; j < count; ++j) {
      out += "\n[[" + specs[a].path + "]]\n";
      for (size_t i = 0; i < specs.size(); ++i) {
        if (parents[i] == a) renderKey(out, keyInArray(specs[i].path), valueAt(values, i, j));
      }
    }
  }
  return out;
}

std::vector<ConfigChange> diffFlat(const std::vector<KeySpec>& specs, const FlatConfig& before,
                                   const FlatConfig& after) {
  auto old = indexSlots(specs.size(), before);
  auto now = indexSlots(specs.size(), after);
  std::vector<size_t> parents = parentFields(specs);
  auto countOf = [](const FlatConfig& flat, size_t f) {
    return flat.counts.size() > f ? flat.counts[f].value_or(0) : 0;
  };
  auto text = [](const Value* v) { return v ? renderValue(*v) : std::string("not set"); };
  std::vector<ConfigChange> changes;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].type == KeyType::kTableArray) {
      size_t was = countOf(before, i), is = countOf(after, i);
      if (was != is) {
        changes.push_back({specs[i].path, std::to_string(was) + " tables",
                           std::to_string(is) + " tables", specs[i].reload});
      }
      continue;
    }
    size_t n = 1;
    if (parents[i] != SIZE_MAX)
      n = std::min(countOf(before, parents[i]), countOf(after, parents[i]));
    for (size_t j = 0; j < n; ++j) {
      const Value* a = valueAt(old, i, j);
      const Value* b = valueAt(now, i, j);
      bool same = (a == nullptr || b == nullptr) ? a == b : *a == *b;
      if (!same) changes.push_back({concreteKey(specs[i], j), text(a), text(b), specs[i].reload});
    }
  }
  return changes;
}

bool needsRestart(const std::vector<ConfigChange>& changes) {
  return std::any_of(changes.begin(), changes.end(),
                     [](const ConfigChange& c) { return c.reload == Reload::kRestart; });
}

std::vector<KeyDoc> documentKeys(const std::vector<KeySpec>& specs) {
  std::vector<KeyDoc> docs;
  for (const KeySpec& spec : specs) {
    KeyDoc doc{.key = spec.path,
               .type = typeName(spec.type),
               .defaultValue = spec.required ? "required" : renderValue(spec.defaultValue),
               .range = "",
               .reload = spec.reload == Reload::kLive ? "reload" : "restart",
               .description = spec.description};
    if (spec.type == KeyType::kTableArray && !spec.required) doc.defaultValue = "none";
    KeyType boundType = spec.type == KeyType::kTableArray ? KeyType::kInteger : spec.type;
    if (spec.min && spec.max) {
      doc.range = renderBound(*spec.min, boundType) + ".." + renderBound(*spec.max, boundType);
    } else if (spec.min) {
      doc.range = ">= " + renderBound(*spec.min, boundType);
    } else if (spec.max) {
      doc.range = "<= " + renderBound(*spec.max, boundType);
    }
    if (spec.type == KeyType::kTableArray && !doc.range.empty()) doc.range += " tables";
    for (const std::string& choice : spec.choices) {
      doc.range += (doc.range.empty() ? "" : ", ") + choice;
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::string checkSocketAddress(std::string_view text) {
  std::string bad =
      renderString(text) + " is not a socket address (expected IPV4:PORT or [IPV6]:PORT)";
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad;
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return bad;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad;
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    in_addr v4{};
    if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &v4) != 1) return bad;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad;
  }
  return {};
}

void sortErrors(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    auto rank = [](const ConfigError& e) { return e.line == 0 ? UINT32_MAX : e.line; };
    return std::make_tuple(rank(a), a.key) < std::make_tuple(rank(b), b.key);
  });
}

std::string joinErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += (out.empty() ? "" : "\n") + e.describe();
  return out;
}

}  // namespace braid::ctrl
