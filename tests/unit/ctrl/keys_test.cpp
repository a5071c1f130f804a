#include "ctrl/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace braid::ctrl {
namespace {

using testing::modeOf;
using testing::TempDir;

constexpr const char* kHexA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char* kHexB = "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100";

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Expects `result` to fail with `code` and exactly `message`.
template <typename T>
void expectError(const Result<T>& result, ErrorCode code, const std::string& message) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code) << result.error().describe();
  EXPECT_EQ(result.error().context, message);
}

TEST(Keys, GenerateWriteLoadRoundTrip) {
  TempDir dir;
  Result<PresharedKey> key = generateKey(42);
  ASSERT_OK(key);
  EXPECT_EQ(key->id, 42u);
  std::string path = dir.file("edge.key");
  ASSERT_OK(writeKeyFile(path, *key));
  EXPECT_EQ(modeOf(path), 0600u);

  Result<PresharedKey> loaded = loadEdgeKeyFile(path);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->id, 42u);
  EXPECT_EQ(loaded->key, key->key);
  // The file ends with the key line itself.
  std::string text = readAll(path);
  EXPECT_NE(text.find(formatKeyLine(*key)), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(Keys, GeneratedKeysDiffer) {
  Result<PresharedKey> a = generateKey(1);
  Result<PresharedKey> b = generateKey(1);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE(a->key, b->key);
}

TEST(Keys, GenerateRejectsIdZero) {
  expectError(generateKey(0), ErrorCode::kInvalidArgument, "key ID must be from 1 to 4294967295");
}

TEST(Keys, FormatKeyLine) {
  PresharedKey key{.id = 4294967295u};
  for (size_t i = 0; i < key.key.size(); ++i) key.key[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(formatKeyLine(key), std::string("braid-psk-v1 4294967295 ") + kHexA + "\n");
}

TEST(Keys, GatewayFileWithCommentsAndSeveralKeys) {
  TempDir dir;
  std::string path = dir.write("gw.keys", std::string("# gateway keys\n\n") + "braid-psk-v1 7 " +
                                              kHexA + "  # van 7\r\n" + "   \t\n" +
                                              "\tbraid-psk-v1\t4294967295\t" + kHexB);
  Result<std::vector<PresharedKey>> keys = loadKeyFile(path);
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, 7u);
  EXPECT_EQ((*keys)[0].key[1], 0x01);
  EXPECT_EQ((*keys)[0].key[31], 0x1f);
  EXPECT_EQ((*keys)[1].id, 4294967295u);
  EXPECT_EQ((*keys)[1].key[0], 0xff);  // Upper-case hex is accepted.
  EXPECT_EQ((*keys)[1].key[31], 0x00);
}

TEST(Keys, ConcatenatedEdgeFilesMakeAGatewayFile) {
  TempDir dir;
  std::string all;
  for (uint32_t id : {1u, 2u, 3u}) {
    Result<PresharedKey> key = generateKey(id);
    ASSERT_OK(key);
    std::string path = dir.file("edge" + std::to_string(id) + ".key");
    ASSERT_OK(writeKeyFile(path, *key));
    all += readAll(path);
  }
  Result<std::vector<PresharedKey>> keys = loadKeyFile(dir.write("gw.keys", all));
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[2].id, 3u);
}

TEST(Keys, RejectsGroupOrWorldAccessibleFile) {
  TempDir dir;
  std::string path = dir.write("edge.key", std::string("braid-psk-v1 1 ") + kHexA + "\n", 0644);
  expectError(loadKeyFile(path), ErrorCode::kInvalidArgument,
              "key file " + path +
                  " has mode 0644: group or others can access it; run `chmod 600 " + path + "`");
  ASSERT_EQ(chmod(path.c_str(), 0620), 0);
  EXPECT_FALSE(loadKeyFile(path).has_value());
  ASSERT_EQ(chmod(path.c_str(), 0604), 0);
  EXPECT_FALSE(loadKeyFile(path).has_value());
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  EXPECT_OK(loadKeyFile(path));
}

TEST(Keys, RejectsBadHex) {
  TempDir dir;
  std::string hex = kHexA;
  hex[10] = 'g';
  std::string path = dir.write("k", "# c\nbraid-psk-v1 1 " + hex + "\n");
  expectError(loadKeyFile(path), ErrorCode::kParse,
              path + ":2: key has a non-hex character at position 11");
}

TEST(Keys, RejectsWrongLength) {
  TempDir dir;
  std::string path = dir.write("k", std::string("braid-psk-v1 1 ") + kHexA + "0\n");
  expectError(loadKeyFile(path), ErrorCode::kParse,
              path + ":1: key must be 64 hex digits, found 65");
  path = dir.write("k", std::string("braid-psk-v1 1 ") + std::string(kHexA).substr(2) + "\n");
  expectError(loadKeyFile(path), ErrorCode::kParse,
              path + ":1: key must be 64 hex digits, found 62");
}

TEST(Keys, RejectsDuplicateId) {
  TempDir dir;
  std::string path =
      dir.write("k", std::string("braid-psk-v1 9 ") + kHexA + "\n\nbraid-psk-v1 9 " + kHexB + "\n");
  expectError(loadKeyFile(path), ErrorCode::kParse,
              path + ":3: duplicate key ID 9 (also on line 1)");
}

TEST(Keys, RejectsEmptyFile) {
  TempDir dir;
  std::string path = dir.write("k", "");
  expectError(loadKeyFile(path), ErrorCode::kParse,
              path + ": no keys (expected lines 'braid-psk-v1 <key-id> <64 hex digits>')");
  path = dir.write("k2", "# only a comment\n\n");
  EXPECT_FALSE(loadKeyFile(path).has_value());
}

TEST(Keys, RejectsMissingFile) {
  TempDir dir;
  std::string path = dir.file("absent.key");
  expectError(loadKeyFile(path), ErrorCode::kNotFound,
              "cannot open key file " + path + ": No such file or directory");
}

TEST(Keys, RejectsDirectory) {
  TempDir dir;
  std::string path = dir.file("d");
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  expectError(loadKeyFile(path), ErrorCode::kInvalidArgument,
              "key file " + path + " is not a regular file");
}

TEST(Keys, RejectsBadIds) {
  for (std::string id : {"0", "4294967296", "-1", "+1", "1x", "0x10", "99999999999999999999"}) {
    expectError(parseKeyText("braid-psk-v1 " + id + " " + kHexA, "f"), ErrorCode::kParse,
                "f:1: key ID '" + id + "' is not a decimal number from 1 to 4294967295");
  }
}

TEST(Keys, RejectsWrongShape) {
  expectError(parseKeyText(std::string("braid-psk-v2 1 ") + kHexA, "f"), ErrorCode::kParse,
              "f:1: unknown key format (expected 'braid-psk-v1 <key-id> <64 hex digits>')");
  expectError(parseKeyText("braid-psk-v1 1", "f"), ErrorCode::kParse,
              "f:1: expected 3 fields 'braid-psk-v1 <key-id> <64 hex digits>', found 2");
  expectError(parseKeyText(std::string("braid-psk-v1 1 ") + kHexA + " extra", "f"),
              ErrorCode::kParse,
              "f:1: expected 3 fields 'braid-psk-v1 <key-id> <64 hex digits>', found 4");
}

TEST(Keys, EdgeFileHoldsExactlyOneKey) {
  TempDir dir;
  std::string path =
      dir.write("k", std::string("braid-psk-v1 1 ") + kHexA + "\nbraid-psk-v1 2 " + kHexB + "\n");
  EXPECT_OK(loadKeyFile(path));
  expectError(loadEdgeKeyFile(path), ErrorCode::kInvalidArgument,
              path + ": an edge key file holds exactly one key, found 2");
}

TEST(Keys, WriteRefusesExistingFileUnlessOverwrite) {
  TempDir dir;
  std::string path = dir.file("edge.key");
  Result<PresharedKey> first = generateKey(1);
  Result<PresharedKey> second = generateKey(2);
  ASSERT_OK(first);
  ASSERT_OK(second);
  ASSERT_OK(writeKeyFile(path, *first));
  expectError(writeKeyFile(path, *second), ErrorCode::kInvalidArgument,
              "key file " + path + " already exists; refusing to overwrite it");
  Result<PresharedKey> kept = loadEdgeKeyFile(path);
  ASSERT_OK(kept);
  EXPECT_EQ(kept->id, 1u);

  // Overwrite replaces it and fixes a too-open mode on the way.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ASSERT_OK(writeKeyFile(path, *second, /*overwrite=*/true));
  EXPECT_EQ(modeOf(path), 0600u);
  Result<PresharedKey> replaced = loadEdgeKeyFile(path);
  ASSERT_OK(replaced);
  EXPECT_EQ(replaced->id, 2u);
  EXPECT_EQ(replaced->key, second->key);
}

TEST(Keys, WriteIsPrivateEvenWithPermissiveUmask) {
  TempDir dir;
  mode_t old = umask(0);
  Result<PresharedKey> key = generateKey(5);
  ASSERT_OK(key);
  Result<void> written = writeKeyFile(dir.file("edge.key"), *key);
  umask(old);
  ASSERT_OK(written);
  EXPECT_EQ(modeOf(dir.file("edge.key")), 0600u);
  // No temporary file is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.file(""))) {
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(Keys, WriteIntoMissingDirectoryFails) {
  TempDir dir;
  Result<PresharedKey> key = generateKey(5);
  ASSERT_OK(key);
  std::string path = dir.file("no/such/dir/edge.key");
  expectError(writeKeyFile(path, *key), ErrorCode::kIo,
              "cannot create key file " + path + ": No such file or directory");
}

TEST(Keys, RejectsFifoWithoutBlocking) {
  TempDir dir;
  std::string path = dir.file("fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  expectError(loadKeyFile(path), ErrorCode::kInvalidArgument,
              "key file " + path + " is not a regular file");
}

TEST(GatewaySecretFile, CreatedOnceAndReused) {
  TempDir dir;
  std::string path = dir.file("gateway.secret");
  Result<GatewaySecret> first = loadOrCreateSecret(path);
  ASSERT_OK(first);
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(readAll(path).size(), kGatewaySecretSize);
  EXPECT_NE(*first, GatewaySecret{});

  Result<GatewaySecret> second = loadOrCreateSecret(path);
  ASSERT_OK(second);
  EXPECT_EQ(*first, *second);

  // Another path gets another secret.
  Result<GatewaySecret> other = loadOrCreateSecret(dir.file("other.secret"));
  ASSERT_OK(other);
  EXPECT_NE(*first, *other);
}

TEST(GatewaySecretFile, RejectsWrongSizeAndOpenPermissions) {
  TempDir dir;
  std::string path = dir.write("s", std::string(31, 'x'));
  expectError(loadOrCreateSecret(path), ErrorCode::kInvalidArgument,
              "gateway secret file " + path +
                  " has 31 bytes, expected 32; delete it to create a new secret (edges of running "
                  "sessions then cannot receive stateless resets from the old one)");
  path = dir.write("s2", std::string(32, 'x'), 0640);
  expectError(loadOrCreateSecret(path), ErrorCode::kInvalidArgument,
              "gateway secret file " + path +
                  " has mode 0640: group or others can access it; run `chmod 600 " + path + "`");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  Result<GatewaySecret> secret = loadOrCreateSecret(path);
  ASSERT_OK(secret);
  EXPECT_EQ(*secret, [] {
    GatewaySecret s;
    s.fill('x');
    return s;
  }());
}

TEST(GatewaySecretFile, MissingDirectoryIsAnError) {
  TempDir dir;
  Result<GatewaySecret> secret = loadOrCreateSecret(dir.file("missing/gateway.secret"));
  ASSERT_FALSE(secret.has_value());
  EXPECT_EQ(secret.error().code, ErrorCode::kIo);
  expectError(loadOrCreateSecret(""), ErrorCode::kInvalidArgument,
              "empty gateway secret file path");
}

}  // namespace
}  // namespace braid::ctrl
