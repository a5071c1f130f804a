// The record writer's relay-side buffers and its writer thread (also run under TSan): every
// row written reaches the file, in order, with the header first.

#include "linkem/record_writer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace braid::linkem {
namespace {

TEST(RecordWriter, EveryRowReachesTheFileInOrder) {
  std::string path = testing::TempDir() + "/record-" + std::to_string(::getpid()) + ".csv";
  auto writer = RecordWriter::open(path, 123);
  ASSERT_TRUE(writer) << writer.error().context;
  constexpr uint64_t kRows = 200'000;  // ~15 MB: many buffer hand-overs
  for (uint64_t i = 0; i < kRows; ++i) {
    (*writer)->write({.link = "lte",
                      .up = i % 2 == 0,
                      .digest = i,
                      .size = 1200,
                      .arrivalNs = i,
                      .departureNs = i + 1,
                      .deliveryNs = i + 2,
                      .sentNs = i + 3,
                      .result = i % 7 == 0 ? Drop::kQueueFull : Drop::kNone});
    if (i % 4096 == 0) usleep(200);  // as the relay would: the writer keeps up
  }
  ASSERT_TRUE((*writer)->finish());
  EXPECT_EQ((*writer)->rowsDropped(), 0u);

  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "# braid-linkem record v1 epoch_ns=123");
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "link,dir,digest,size,arrival_ns,departure_ns,delivery_ns,sent_ns,result");
  uint64_t rows = 0;
  while (std::getline(in, line)) {
    uint64_t i = rows++;
    std::string expected =
        i % 7 == 0
            ? fmt::format("lte,{},{:016x},1200,{},,,,queue_full", i % 2 ? "down" : "up", i, i)
            : fmt::format("lte,{},{:016x},1200,{},{},{},{},ok", i % 2 ? "down" : "up", i, i, i + 1,
                          i + 2, i + 3);
    ASSERT_EQ(line, expected) << "row " << i;
  }
  EXPECT_EQ(rows, kRows);
  std::remove(path.c_str());
}

TEST(RecordWriter, UnwritablePathIsAnIoError) {
  auto writer = RecordWriter::open("/nonexistent/dir/record.csv", 0);
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace braid::linkem
