#pragma once

#include <memory>
#include <string_view>

#include "dataplane/output/file_sink.h"
#include "dataplane/output/output_sink.h"

namespace braid::dp {

// Opens the output named by `url`: "file:PATH" (or "file://PATH"), a plain PATH, or
// "udp://HOST:PORT". Any thread (slow path: may resolve a host name). Returns
// kInvalidArgument for a malformed URL, kUnsupported for another scheme, kIo when the
// file or socket cannot be opened. `fileMode` says whether an existing file is emptied.
[[nodiscard]] Result<std::unique_ptr<OutputSink>> makeSink(std::string_view url,
                                                           FileOpen fileMode = FileOpen::kTruncate);

}  // namespace braid::dp
