#include "edge/link_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace braid::edge {
namespace {

using ::testing::ElementsAre;

EdgeLinkOptions link(const std::string& name, const std::string& gateway = "") {
  EdgeLinkOptions l{.name = name};
  if (!gateway.empty()) l.gateway = *dp::parseSocketAddress(gateway);
  return l;
}

// "+c@2 (new)" / "-a@0 (no longer configured)": one change, for compact expectations.
std::vector<std::string> describe(const std::vector<LinkChange>& changes) {
  std::vector<std::string> out;
  for (const LinkChange& c : changes) {
    const char* sign = c.kind == LinkChange::Kind::kAdd      ? "+"
                       : c.kind == LinkChange::Kind::kRemove ? "-"
                                                             : "~";
    out.push_back(sign + c.options.name + "@" + std::to_string(c.id) + " (" + c.why + ")");
  }
  return out;
}

std::vector<std::string> planOf(const LinkSet& set, const std::vector<EdgeLinkOptions>& desired) {
  auto plan = set.plan(desired);
  EXPECT_TRUE(plan) << plan.error().describe();
  return plan ? describe(*plan) : std::vector<std::string>{};
}

TEST(LinkSet, StartLinksHoldIdsInOrder) {
  std::vector<EdgeLinkOptions> start = {link("a"), link("b")};
  LinkSet set(start);
  EXPECT_EQ(set.size(), 2u);
  ASSERT_NE(set.find(1), nullptr);
  EXPECT_EQ(set.find(1)->name, "b");
  EXPECT_EQ(set.find(2), nullptr);
}

TEST(LinkSet, SameLinksInAnotherOrderChangeNothing) {
  std::vector<EdgeLinkOptions> start = {link("a"), link("b", "127.0.0.1:9")};
  LinkSet set(start);
  EXPECT_TRUE(planOf(set, {link("b", "127.0.0.1:9"), link("a")}).empty());
}

// A priority is what the scheduler makes of a link: changing it keeps the link, its socket
// and its ID, and is applied as an update.
TEST(LinkSet, APriorityChangeUpdatesTheLinkInPlace) {
  std::vector<EdgeLinkOptions> start = {link("a"), link("b")};
  LinkSet set(start);
  EdgeLinkOptions backup = link("b");
  backup.priority = LinkPriority::kBackup;
  auto plan = set.plan(std::vector{link("a"), backup});
  ASSERT_TRUE(plan);
  EXPECT_THAT(describe(*plan), ElementsAre("~b@1 (priority normal -> backup)"));
  set.apply(*plan);
  ASSERT_NE(set.find(1), nullptr);
  EXPECT_EQ(set.find(1)->priority, LinkPriority::kBackup);
  EXPECT_TRUE(planOf(set, {link("a"), backup}).empty());
}

TEST(LinkSet, PrioritiesParseFromTheConfigsWords) {
  EXPECT_EQ(parseLinkPriority("primary"), LinkPriority::kPrimary);
  EXPECT_EQ(parseLinkPriority("normal"), LinkPriority::kNormal);
  EXPECT_EQ(parseLinkPriority("backup"), LinkPriority::kBackup);
  EXPECT_EQ(parseLinkPriority("Backup"), std::nullopt);
  EXPECT_STREQ(linkPriorityName(LinkPriority::kBackup), "backup");
}

// The system test's sequence: a, b -> a, b, c -> b, c.
TEST(LinkSet, AddsNewNamesAndRemovesMissingOnes) {
  std::vector<EdgeLinkOptions> start = {link("a"), link("b")};
  LinkSet set(start);
  auto plan = set.plan(std::vector{link("a"), link("b"), link("c")});
  ASSERT_TRUE(plan);
  EXPECT_THAT(describe(*plan), ElementsAre("+c@2 (new)"));
  set.apply(*plan);
  plan = set.plan(std::vector{link("b"), link("c")});
  ASSERT_TRUE(plan);
  EXPECT_THAT(describe(*plan), ElementsAre("-a@0 (no longer configured)"));
  set.apply(*plan);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.find(0), nullptr);
  EXPECT_EQ(set.find(2)->name, "c");
}

// A link whose socket parameters changed is removed and added again, under a new link ID (the
// gateway may still attribute packets in flight to the old one); removals come first.
TEST(LinkSet, ChangedGatewayOrBindIsRemovedAndReAdded) {
  std::vector<EdgeLinkOptions> start = {link("a", "127.0.0.1:1"), link("b")};
  LinkSet set(start);
  EXPECT_THAT(planOf(set, {link("a", "127.0.0.1:2"), link("b")}),
              ElementsAre("-a@0 (gateway 127.0.0.1:1 -> 127.0.0.1:2)",
                          "+a@2 (re-added: gateway 127.0.0.1:1 -> 127.0.0.1:2)"));
  EdgeLinkOptions bound = link("b");
  bound.bindAddress = *dp::parseSocketAddress("127.0.0.1:0");
  bound.bindDevice = "eth1";
  EXPECT_THAT(planOf(set, {link("a", "127.0.0.1:1"), bound}),
              ElementsAre("-b@1 (device not set -> eth1, bind not set -> 127.0.0.1:0)",
                          "+b@2 (re-added: device not set -> eth1, bind not set -> 127.0.0.1:0)"));
}

TEST(LinkSet, RefusesAnEmptyOrDuplicatedSet) {
  std::vector<EdgeLinkOptions> start = {link("a")};
  LinkSet set(start);
  EXPECT_FALSE(set.plan(std::vector<EdgeLinkOptions>{}));
  EXPECT_FALSE(set.plan(std::vector{link("b"), link("b")}));
  std::vector<EdgeLinkOptions> many;
  for (int i = 0; i < 17; ++i) many.push_back(link("l" + std::to_string(i)));
  EXPECT_FALSE(set.plan(many));
  EXPECT_EQ(set.size(), 1u);
}

// Replacing the only link: the removal and the addition come in one plan, so the sender is
// never without a link.
TEST(LinkSet, ReplacesTheOnlyLinkInOnePlan) {
  std::vector<EdgeLinkOptions> start = {link("a")};
  LinkSet set(start);
  EXPECT_THAT(planOf(set, {link("b")}), ElementsAre("-a@0 (no longer configured)", "+b@1 (new)"));
}

// IDs are not reused while fresh ones are left; once all 16 were used, the ID freed longest
// ago is taken first.
TEST(LinkSet, ReusesTheIdFreedLongestAgoOnlyWhenNoFreshOneIsLeft) {
  std::vector<EdgeLinkOptions> start = {link("l0")};
  LinkSet set(start);
  // Rename the only link 15 times: IDs 1..15 are each used once, then 0 (freed first) again.
  for (int i = 1; i <= 16; ++i) {
    auto plan = set.plan(std::vector{link("l" + std::to_string(i))});
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->size(), 2u);
    EXPECT_EQ((*plan)[1].id, i % 16) << "rename " << i;
    set.apply(*plan);
  }
  // Now l16 holds ID 0; IDs 1..15 were freed in that order: the next link takes 1.
  auto plan = set.plan(std::vector{link("l16"), link("x")});
  ASSERT_TRUE(plan);
  EXPECT_THAT(describe(*plan), ElementsAre("+x@1 (new)"));
}

// Sixteen links all renamed at once: every ID is freed and taken again in the same plan, the
// ones just freed last.
TEST(LinkSet, RenamingSixteenLinksReusesTheirIds) {
  std::vector<EdgeLinkOptions> start, renamed;
  for (int i = 0; i < 16; ++i) {
    start.push_back(link("a" + std::to_string(i)));
    renamed.push_back(link("b" + std::to_string(i)));
  }
  LinkSet set(start);
  auto plan = set.plan(renamed);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->size(), 32u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ((*plan)[i].kind, LinkChange::Kind::kRemove);
    EXPECT_EQ((*plan)[16 + i].kind, LinkChange::Kind::kAdd);
    EXPECT_EQ((*plan)[16 + i].id, i);  // freed in ID order, so taken back in ID order
  }
  set.apply(*plan);
  EXPECT_EQ(set.size(), 16u);
  EXPECT_EQ(set.find(15)->name, "b15");
}

}  // namespace
}  // namespace braid::edge
