#include "ctrl/keys.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <span>
#include <unordered_map>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ctrl/private_file.h"

namespace braid::ctrl {

namespace {

constexpr size_t kMaxKeyFileBytes = 16 << 20;
constexpr std::string_view kKeyLineShape = "braid-psk-v1 <key-id> <64 hex digits>";
constexpr std::string_view kWhitespace = " \t\r\v\f";

// Wipes a buffer that held key material when it goes out of scope.
class Wipe {
 public:
  Wipe(void* data, size_t size) : data_(data), size_(size) {}
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;
  ~Wipe() { OPENSSL_cleanse(data_, size_); }

 private:
  void* data_;
  size_t size_;
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (true) {
    pos = line.find_first_not_of(kWhitespace, pos);
    if (pos == std::string_view::npos) break;
    size_t end = line.find_first_of(kWhitespace, pos);
    if (end == std::string_view::npos) end = line.size();
    fields.push_back(line.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

// Parses one non-empty, comment-free line; errors carry no prefix.
Result<PresharedKey> parseKeyLine(std::string_view line) {
  std::vector<std::string_view> fields = splitFields(line);
  if (fields[0] != kKeyFileTag) {
    // Never echo the field: a mangled line may still contain the key.
    return fail(ErrorCode::kParse,
                fmt::format("unknown key format (expected '{}')", kKeyLineShape));
  }
  if (fields.size() != 3) {
    return fail(ErrorCode::kParse,
                fmt::format("expected 3 fields '{}', found {}", kKeyLineShape, fields.size()));
  }
  PresharedKey key;
  std::string_view id = fields[1];
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), key.id, 10);
  if (ec != std::errc() || end != id.data() + id.size() || key.id == 0) {
    return fail(ErrorCode::kParse,
                fmt::format("key ID '{}' is not a decimal number from 1 to 4294967295", id));
  }
  std::string_view hex = fields[2];
  if (hex.size() != 2 * kPskSize) {
    return fail(ErrorCode::kParse,
                fmt::format("key must be {} hex digits, found {}", 2 * kPskSize, hex.size()));
  }
  for (size_t i = 0; i < kPskSize; ++i) {
    int hi = hexValue(hex[2 * i]);
    int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(key.key.data(), key.key.size());
      return fail(ErrorCode::kParse, fmt::format("key has a non-hex character at position {}",
                                                 2 * i + (hi < 0 ? 1 : 2)));
    }
    key.key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

}  // namespace

Result<std::vector<PresharedKey>> parseKeyText(std::string_view text, std::string_view name) {
  std::vector<PresharedKey> keys;
  std::unordered_map<uint32_t, size_t> lineOfId;
  size_t lineNumber = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++lineNumber;
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (line.find_first_not_of(kWhitespace) == std::string_view::npos) continue;

    Result<PresharedKey> key = parseKeyLine(line);
    if (!key) {
      return fail(key.error().code,
                  fmt::format("{}:{}: {}", name, lineNumber, key.error().context));
    }
    auto [it, inserted] = lineOfId.emplace(key->id, lineNumber);
    if (!inserted) {
      return fail(ErrorCode::kParse, fmt::format("{}:{}: duplicate key ID {} (also on line {})",
                                                 name, lineNumber, key->id, it->second));
    }
    keys.push_back(*key);
    OPENSSL_cleanse(key->key.data(), key->key.size());
  }
  if (keys.empty()) {
    return fail(ErrorCode::kParse,
                fmt::format("{}: no keys (expected lines '{}')", name, kKeyLineShape));
  }
  return keys;
}

Result<std::vector<PresharedKey>> loadKeyFile(const std::string& path) {
  Result<std::string> text = readPrivateFile(path, "key file", kMaxKeyFileBytes);
  if (!text) return tl::unexpected(text.error());
  Wipe wipe(text->data(), text->size());
  return parseKeyText(*text, path);
}

Result<PresharedKey> loadEdgeKeyFile(const std::string& path) {
  Result<std::vector<PresharedKey>> keys = loadKeyFile(path);
  if (!keys) return tl::unexpected(keys.error());
  if (keys->size() != 1) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: an edge key file holds exactly one key, found {}", path, keys->size()));
  }
  return keys->front();
}

Result<PresharedKey> generateKey(uint32_t id) {
  if (id == 0) return fail(ErrorCode::kInvalidArgument, "key ID must be from 1 to 4294967295");
  PresharedKey key{.id = id};
  if (RAND_bytes(key.key.data(), static_cast<int>(key.key.size())) != 1) {
    return fail(ErrorCode::kCrypto,
                "RAND_bytes failed: the OpenSSL random generator is not seeded");
  }
  return key;
}

std::string formatKeyLine(const PresharedKey& key) {
  std::string line = fmt::format("{} {} ", kKeyFileTag, key.id);
  for (uint8_t byte : key.key) fmt::format_to(std::back_inserter(line), "{:02x}", byte);
  line.push_back('\n');
  return line;
}

Result<void> writeKeyFile(const std::string& path, const PresharedKey& key, bool overwrite) {
  if (key.id == 0) return fail(ErrorCode::kInvalidArgument, "key ID must be from 1 to 4294967295");
  std::string text = fmt::format(
      "# Braid pre-shared key {}: keep this file secret (mode 0600) on the edge, and append it\n"
      "# to the gateway's key file (which may hold many keys).\n",
      key.id);
  text += formatKeyLine(key);
  Wipe wipe(text.data(), text.size());
  return writePrivateFile(
      path, "key file",
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      overwrite);
}

Result<GatewaySecret> loadOrCreateSecret(const std::string& path) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "empty gateway secret file path");
  // Two attempts: if another process creates the file between our read and our create,
  // the second read picks up its secret.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Result<std::string> bytes = readPrivateFile(path, "gateway secret file", 4096);
    if (bytes) {
      Wipe wipe(bytes->data(), bytes->size());
      if (bytes->size() != kGatewaySecretSize) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("gateway secret file {} has {} bytes, expected {}; delete it to "
                                "create a new secret (edges of running sessions then cannot "
                                "receive stateless resets from the old one)",
                                path, bytes->size(), kGatewaySecretSize));
      }
      GatewaySecret secret;
      std::copy(bytes->begin(), bytes->end(), secret.begin());
      return secret;
    }
    if (bytes.error().code != ErrorCode::kNotFound) return tl::unexpected(bytes.error());

    GatewaySecret secret;
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
      return fail(ErrorCode::kCrypto,
                  "RAND_bytes failed: the OpenSSL random generator is not seeded");
    }
    Result<void> written = writePrivateFile(path, "gateway secret file", secret, false);
    if (written) return secret;
    OPENSSL_cleanse(secret.data(), secret.size());
    if (written.error().code != ErrorCode::kInvalidArgument) return tl::unexpected(written.error());
  }
  return fail(ErrorCode::kIo, fmt::format("gateway secret file {} keeps changing", path));
}

}  // namespace braid::ctrl
