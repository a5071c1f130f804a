#include "dataplane/proto/wire/drop_reason.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace braid::proto {
namespace {

TEST(DropReason, NamesMatchTheSpec) {
  // docs/protocol.md §3.6, in order.
  const char* expected[] = {"too_short",       "bad_version",     "unknown_type", "bad_header",
                            "unknown_session", "auth_failed",     "replay",       "bad_cookie",
                            "bad_mac",         "stale_handshake", "rate_limited", "malformed_body",
                            "unknown_key",     "wrong_direction"};
  ASSERT_EQ(std::size(expected), kDropReasonCount);
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    EXPECT_STREQ(dropReasonName(static_cast<DropReason>(i)), expected[i]);
  }
}

TEST(DropReason, NamesAreUniqueMetricLabels) {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    std::string name = dropReasonName(static_cast<DropReason>(i));
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_STREQ(dropReasonName(DropReason::kCount), "unknown");
}

// The spec's list of reasons (§3.6, "Reasons: `a`, `b`, ...") is the same set, in order.
TEST(DropReason, SpecListsExactlyTheseReasons) {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  if (root == nullptr) GTEST_SKIP() << "BRAID_SOURCE_ROOT not set (run through meson test)";
  std::ifstream file(std::string(root) + "/docs/protocol.md");
  ASSERT_TRUE(file);
  std::stringstream text;
  text << file.rdbuf();
  std::string doc = text.str();
  size_t start = doc.find("Reasons:", doc.find("### 3.6"));
  ASSERT_NE(start, std::string::npos);
  size_t end = doc.find("\n\n", start);
  std::vector<std::string> listed;
  for (size_t i = doc.find('`', start); i < end; i = doc.find('`', i)) {
    size_t close = doc.find('`', i + 1);
    listed.push_back(doc.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  ASSERT_EQ(listed.size(), kDropReasonCount);
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    EXPECT_EQ(listed[i], dropReasonName(static_cast<DropReason>(i)));
  }
}

}  // namespace
}  // namespace braid::proto
