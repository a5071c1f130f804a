// NACKs left to FEC: a lost source of a closed block is not resent while losing more of the
// block's repairs than it can spare (after every source NACKed from it) is rarer than 1e-4;
// past that, each NACK of the block is resent.

#include "edge/sent_fec_blocks.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

TEST(SentFecBlocks, NacksAreLeftToFecWhileTheRepairsCanSpareThem) {
  SentFecBlocks blocks;
  blocks.closed(100, 10);
  for (int i = 0; i < 4; ++i) blocks.repairLeft();
  // 4 repairs at 1 % loss: 2 NACKed leave 2 to spare (P[3 or 4 lost] ≈ 4e-6); 3 leave 1
  // (P[2 or more lost] ≈ 6e-4): the third needs its copy.
  EXPECT_TRUE(blocks.coveredByRepairs(101, 0.01));
  EXPECT_TRUE(blocks.coveredByRepairs(101, 0.01));  // asked again: still one source
  EXPECT_TRUE(blocks.coveredByRepairs(105, 0.01));
  EXPECT_FALSE(blocks.coveredByRepairs(109, 0.01));
  // Once past, a source asked again is resent too: the block can no longer do without.
  EXPECT_FALSE(blocks.coveredByRepairs(101, 0.01));
}

TEST(SentFecBlocks, MoreLossLeavesFewerToFec) {
  auto covered = [](double loss) {
    SentFecBlocks blocks;
    blocks.closed(0, 32);
    for (int i = 0; i < 8; ++i) blocks.repairLeft();
    uint32_t n = 0;
    while (n < 32 && blocks.coveredByRepairs(n, loss)) ++n;
    return n;
  };
  const uint32_t clean = covered(0.0), lossy = covered(0.05), bad = covered(0.3);
  EXPECT_EQ(clean, covered(0.01));  // a measured zero counts as 1 %
  EXPECT_GT(clean, lossy);
  EXPECT_GT(lossy, bad);
  EXPECT_LE(clean, 7u);  // never all 8: one lost repair would then sink the block
  EXPECT_GE(lossy, 2u);  // 8 repairs at 5 %: two NACKs leave 6, P[7 or 8 lost] ≈ 1e-8
}

TEST(SentFecBlocks, OnlyClosedBlocksWithRepairsThatLeftCover) {
  SentFecBlocks blocks;
  EXPECT_FALSE(blocks.coveredByRepairs(0, 0.01));  // nothing closed yet
  blocks.closed(0, 8);
  EXPECT_FALSE(blocks.coveredByRepairs(3, 0.01));  // no repair has left yet
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(4, 0.01));  // one repair: lost once in a hundred
  blocks.repairLeft();
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(8, 0.01));  // the open block's source
  blocks.closed(8, 8);
  blocks.repairLeft();
  blocks.repairLeft();
  EXPECT_TRUE(blocks.coveredByRepairs(8, 0.01));  // two repairs, one needed: 1e-4
  // Block 0 already counts sources 3 and 4: two NACKs, three repairs, one to spare.
  EXPECT_FALSE(blocks.coveredByRepairs(5, 0.01));
  // A sequence of no block (sent between blocks, or before the oldest remembered).
  blocks.closed(20, 4);
  blocks.repairLeft();
  blocks.repairLeft();
  EXPECT_FALSE(blocks.coveredByRepairs(17, 0.01));
  EXPECT_TRUE(blocks.coveredByRepairs(21, 0.01));
}

TEST(SentFecBlocks, RemembersTheLastBlocksOnly) {
  SentFecBlocks blocks;
  for (uint64_t b = 0; b < SentFecBlocks::kBlocks + 4; ++b) {
    blocks.closed(b * 10, 10);
    for (int i = 0; i < 3; ++i) blocks.repairLeft();
  }
  EXPECT_FALSE(blocks.coveredByRepairs(5, 0.01));  // its block was overwritten
  EXPECT_TRUE(blocks.coveredByRepairs((SentFecBlocks::kBlocks + 3) * 10 + 9, 0.01));
  EXPECT_TRUE(blocks.coveredByRepairs(45, 0.01));  // block 4: the oldest still remembered
}

}  // namespace
}  // namespace braid::edge
