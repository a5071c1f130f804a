#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace braid::ctrl::testing {

// A fresh directory under $TMPDIR, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "braid-ctrl-XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Writes `content` to `name` and sets its mode; returns the path.
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const {
    std::string p = file(name);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    return p;
  }

 private:
  std::string path_;
};

inline mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

}  // namespace braid::ctrl::testing

#define EXPECT_OK(expr)                                             \
  do {                                                              \
    const auto& result_ = (expr);                                   \
    EXPECT_TRUE(result_.has_value()) << result_.error().describe(); \
  } while (0)
#define ASSERT_OK(expr)                                             \
  do {                                                              \
    const auto& result_ = (expr);                                   \
    ASSERT_TRUE(result_.has_value()) << result_.error().describe(); \
  } while (0)
