#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/proto/result.h"

namespace braid::ctrl {

// Reads a file that holds secrets. `what` names it in errors ("key file"). Refuses anything
// but a regular file, a file that group or others may access (the error says to chmod 600)
// and files larger than `maxBytes`. Any thread. Returns the bytes; the caller wipes them.
[[nodiscard]] Result<std::string> readPrivateFile(const std::string& path, std::string_view what,
                                                  size_t maxBytes);

// Writes `data` to `path` as a mode-0600 file. The bytes go to a 0600 temporary file in the
// same directory first, then appear under `path` at once (link, or rename if `overwrite`),
// so neither a reader nor a crash ever sees a partial or more widely readable file.
// Without `overwrite` an existing `path` is an error. Any thread.
[[nodiscard]] Result<void> writePrivateFile(const std::string& path, std::string_view what,
                                            std::span<const uint8_t> data, bool overwrite);

}  // namespace braid::ctrl
