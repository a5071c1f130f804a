// libFuzzer target for the key-file parser: operators hand-edit these files, so any text
// must give a key list or a clean error, never a crash or an out-of-bounds read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ctrl/keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  braid::Result<std::vector<braid::ctrl::PresharedKey>> keys =
      braid::ctrl::parseKeyText(text, "fuzz");
  if (keys) {
    // Every parsed key must survive a format/parse round trip.
    for (const braid::ctrl::PresharedKey& key : *keys) {
      auto again = braid::ctrl::parseKeyText(braid::ctrl::formatKeyLine(key), "fuzz");
      if (!again || again->size() != 1 || (*again)[0].id != key.id || (*again)[0].key != key.key) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
