// docs/config.md lists every key of the three schemas, and nothing else: the test reads its two
// tables and compares them with the schema row by row, in both directions. On a mismatch it
// prints the table the schema implies, ready to paste.

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ctrl/config/edge_config.h"
#include "ctrl/config/gateway_config.h"
#include "ctrl/config/linkem_config.h"

namespace braid::ctrl {
namespace {

using Row = std::vector<std::string>;  // key, type, default, range, reload, description

std::string trim(std::string s) {
  auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  s = s.substr(first, s.find_last_not_of(' ') - first + 1);
  // Keys and literal defaults are written as code in the docs.
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') s = s.substr(1, s.size() - 2);
  return s;
}

// The rows of the first table under the heading `heading` ("## braid-gateway").
std::vector<Row> readTable(const std::string& markdown, const std::string& heading) {
  std::istringstream in(markdown);
  std::string line;
  bool inSection = false;
  std::vector<Row> rows;
  int tableLine = 0;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      if (inSection) break;
      inSection = line == heading;
      continue;
    }
    if (!inSection) continue;
    if (line.empty() || line.front() != '|') {
      if (tableLine > 0) break;  // the table ended
      continue;
    }
    if (++tableLine <= 2) continue;  // header and |---| separator
    Row row;
    std::string cell;
    std::istringstream cells(line.substr(1));
    while (std::getline(cells, cell, '|')) row.push_back(trim(cell));
    rows.push_back(row);
  }
  return rows;
}

std::vector<Row> schemaRows(const std::vector<KeyDoc>& docs) {
  std::vector<Row> rows;
  for (const KeyDoc& d : docs) {
    rows.push_back({d.key, d.type, d.defaultValue, d.range, d.reload, d.description});
  }
  return rows;
}

std::string markdown(const std::vector<Row>& rows) {
  std::string out = "| Key | Type | Default | Range | Reload | Description |\n";
  out += "|-----|------|---------|-------|--------|-------------|\n";
  for (const Row& r : rows) {
    bool literal = r[2] != "required" && r[2] != "not set" && r[2] != "none";
    out += "| `" + r[0] + "` | " + r[1] + " | " + (literal ? "`" + r[2] + "`" : r[2]) + " | " +
           r[3] + " | " + r[4] + " | " + r[5] + " |\n";
  }
  return out;
}

void expectDocsMatch(const std::string& heading, const std::vector<KeyDoc>& docs) {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  std::ifstream file(std::string(root ? root : ".") + "/docs/config.md");
  ASSERT_TRUE(file) << "docs/config.md not found (is BRAID_SOURCE_ROOT set?)";
  std::stringstream text;
  text << file.rdbuf();
  std::vector<Row> documented = readTable(text.str(), heading);
  std::vector<Row> expected = schemaRows(docs);

  std::map<std::string, Row> byKey;
  for (const Row& r : documented) byKey[r.empty() ? "" : r[0]] = r;
  for (const Row& r : expected) {
    auto it = byKey.find(r[0]);
    if (it == byKey.end()) {
      ADD_FAILURE() << heading << ": key " << r[0] << " is in the schema but not in docs/config.md";
    } else {
      EXPECT_EQ(it->second, r) << heading << ": row of " << r[0] << " differs from the schema";
      byKey.erase(it);
    }
  }
  for (const auto& [key, row] : byKey) {
    ADD_FAILURE() << heading << ": key " << key << " is in docs/config.md but not in the schema";
  }
  EXPECT_EQ(documented, expected) << "docs/config.md under " << heading
                                  << " should read (same order as the schema):\n"
                                  << markdown(expected);
}

TEST(ConfigDocs, GatewayTableMatchesSchema) {
  expectDocsMatch("## braid-gateway", gatewayConfigKeys());
}

TEST(ConfigDocs, EdgeTableMatchesSchema) {
  expectDocsMatch("## braid-edge", edgeConfigKeys());
}

TEST(ConfigDocs, LinkemTableMatchesSchema) {
  expectDocsMatch("## braid-linkem", linkemConfigKeys());
}

TEST(ConfigDocs, DescriptionsFitInATableCell) {
  for (const auto& docs : {gatewayConfigKeys(), edgeConfigKeys(), linkemConfigKeys()}) {
    for (const KeyDoc& d : docs) {
      EXPECT_EQ(d.description.find('|'), std::string::npos) << d.key;
      EXPECT_FALSE(d.description.empty()) << d.key;
    }
  }
}

// The parser the docs test relies on, on a table it must read exactly.
TEST(ConfigDocs, ReadTableTakesOnlyItsSection) {
  std::string md =
      "## braid-gateway\n\ntext\n\n| Key | Type |\n|--|--|\n| `a.b` | `\"x\"` |\n\nmore\n"
      "| `not.this` | table |\n## braid-edge\n| Key |\n|--|\n| `c` |\n";
  EXPECT_EQ(readTable(md, "## braid-gateway"), (std::vector<Row>{{"a.b", "\"x\""}}));
  EXPECT_EQ(readTable(md, "## braid-edge"), (std::vector<Row>{{"c"}}));
}

}  // namespace
}  // namespace braid::ctrl
