// NACKs left to FEC: a lost source of a closed block is not resent while the block's repairs
// that left (one kept spare) can rebuild it along with every other source NACKed from it; past
// that, each NACK of the block is resent.

#include "edge/sent_fec_blocks.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

TEST(SentFecBlocks, NacksUpToTheRepairsThatLeftAreLeftToFec) {
  SentFecBlocks blocks;
  blocks.closed(100, 10);
  for (int i = 0; i < 4; ++i) blocks.repairLeft();
  EXPECT_TRUE(blocks.coveredByRepairs(101, 0.0));
  EXPECT_TRUE(blocks.coveredByRepairs(105, 0.0));
  EXPECT_TRUE(blocks.coveredByRepairs(105, 0.0));   // asked again: still one source
  EXPECT_TRUE(blocks.coveredByRepairs(109, 0.0));   // 3 NACKed, 4 repairs, one kept spare
  EXPECT_FALSE(blocks.coveredByRepairs(100, 0.0));  // the fourth needs its copy
  // Once past, a source asked again is resent too: the block can no longer do without.
  EXPECT_FALSE(blocks.coveredByRepairs(101, 0.0));
}

TEST(SentFecBlocks, RepairsExpectedLostCountAgainstTheBlock) {
  SentFecBlocks blocks;
  blocks.closed(0, 20);
  for (int i = 0; i < 5; ++i) blocks.repairLeft();
  // At 10 % loss one of the 5 repairs is taken as lost and one kept spare: 3 NACKs are
  // covered, not 4.
  EXPECT_TRUE(blocks.coveredByRepairs(1, 0.1));
  EXPECT_TRUE(blocks.coveredByRepairs(2, 0.1));
  EXPECT_TRUE(blocks.coveredByRepairs(3, 0.1));
  EXPECT_FALSE(blocks.coveredByRepairs(4, 0.1));
}

TEST(SentFecBlocks, OnlyClosedBlocksWithRepairsThatLeftCover) {
  SentFecBlocks blocks;
  EXPECT_FALSE(blocks.coveredByRepairs(0, 0.0));  // nothing closed yet
  blocks.closed(0, 8);
  EXPECT_FALSE(blocks.coveredByRepairs(3, 0.0));  // no repair has left yet
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(4, 0.0));  // one repair: the spare, never enough
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(8, 0.0));  // the open block's source
  blocks.closed(8, 8);
  blocks.repairLeft();
  blocks.repairLeft();
  EXPECT_TRUE(blocks.coveredByRepairs(8, 0.0));
  // Block 0 already counts sources 3 and 4: two NACKs, two repairs, one of them the spare.
  EXPECT_FALSE(blocks.coveredByRepairs(5, 0.0));
  // A sequence of no block (sent between blocks, or before the oldest remembered).
  blocks.closed(20, 4);
  blocks.repairLeft();
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(17, 0.0));
  EXPECT_TRUE(blocks.coveredByRepairs(21, 0.0));
}

TEST(SentFecBlocks, RemembersTheLastBlocksOnly) {
  SentFecBlocks blocks;
  for (uint64_t b = 0; b < SentFecBlocks::kBlocks + 4; ++b) {
    blocks.closed(b * 10, 10);
    blocks.repairLeft();
    blocks.repairLeft();
  }
  EXPECT_FALSE(blocks.coveredByRepairs(5, 0.0));  // its block was overwritten
  EXPECT_TRUE(blocks.coveredByRepairs((SentFecBlocks::kBlocks + 3) * 10 + 9, 0.0));
  EXPECT_TRUE(blocks.coveredByRepairs(45, 0.0));  // block 4: the oldest still remembered
}

}  // namespace
}  // namespace braid::edge
