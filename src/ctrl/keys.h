#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/proto/result.h"

namespace braid::ctrl {

inline constexpr size_t kPskSize = 32;
inline constexpr size_t kGatewaySecretSize = 32;
// First field of every key line; a new format gets a new tag.
inline constexpr std::string_view kKeyFileTag = "braid-psk-v1";

// An edge's pre-shared key: the ID travels in HS_INIT, the key never leaves the two hosts.
struct PresharedKey {
  uint32_t id = 0;
  std::array<uint8_t, kPskSize> key{};
};

using GatewaySecret = std::array<uint8_t, kGatewaySecretSize>;

// Parses key-file text: lines `braid-psk-v1 <key-id 1..4294967295> <64 hex digits>`, blank
// lines and `#` comments. `name` prefixes errors ("name:line: ..."). Any thread. Returns at
// least one key, or an error for a malformed line, a duplicate key ID or no keys at all.
[[nodiscard]] Result<std::vector<PresharedKey>> parseKeyText(std::string_view text,
                                                             std::string_view name);

// Loads a gateway key file (one or more keys: concatenated edge key files). Refuses files that
// group or others can access. Any thread. Returns the keys in file order.
[[nodiscard]] Result<std::vector<PresharedKey>> loadKeyFile(const std::string& path);

// Loads an edge key file, which holds exactly one key. Any thread.
[[nodiscard]] Result<PresharedKey> loadEdgeKeyFile(const std::string& path);

// Draws a fresh key from the OpenSSL CSPRNG. `id` must not be 0. Any thread.
[[nodiscard]] Result<PresharedKey> generateKey(uint32_t id);

// The key's line in the key-file format, with its trailing newline. Any thread.
std::string formatKeyLine(const PresharedKey& key);

// Writes an edge key file (a comment and the key line) with mode 0600; it is never readable by
// others, not even briefly. An existing file is an error unless `overwrite`. Any thread.
[[nodiscard]] Result<void> writeKeyFile(const std::string& path, const PresharedKey& key,
                                        bool overwrite = false);

// The gateway's long-lived secret (cookie and stateless-reset secrets derive from it): reads
// the 32 raw bytes at `path`, or creates the file (0600, random bytes) if it does not exist.
// Refuses a file of another size or one that group or others can access. Any thread, but one
// process at a time per path is the intended use. Returns the secret.
[[nodiscard]] Result<GatewaySecret> loadOrCreateSecret(const std::string& path);

}  // namespace braid::ctrl
