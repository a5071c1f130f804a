#include "dataplane/output/make_sink.h"

#include <string>

#include "dataplane/output/file_sink.h"
#include "dataplane/output/host_port.h"
#include "dataplane/output/null_sink.h"
#include "dataplane/output/udp_sink.h"

namespace braid::dp {

namespace {

constexpr std::string_view kSupported = "expected file:PATH, PATH, udp://HOST:PORT or null:";

Result<std::unique_ptr<OutputSink>> openFile(std::string_view url, std::string_view path,
                                             FileOpen mode) {
  if (path.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        "output '" + std::string(url) + "': empty file path (" + std::string(kSupported) + ")");
  }
  auto sink = FileSink::create(std::string(path), FileSink::kDefaultBufferBytes, mode);
  if (!sink) return tl::unexpected(sink.error());
  return std::unique_ptr<OutputSink>(std::move(*sink));
}

}  // namespace

Result<std::unique_ptr<OutputSink>> makeSink(std::string_view url, FileOpen fileMode) {
  if (url.empty()) {
    return fail(ErrorCode::kInvalidArgument, "empty output URL (" + std::string(kSupported) + ")");
  }
  if (url == kNullOutputUrl) return std::unique_ptr<OutputSink>(std::make_unique<NullSink>());
  if (url.starts_with("udp://")) {
    auto destination = parseUdpUrl(url);
    if (!destination) {
      return fail(destination.error().code, "output: " + destination.error().context);
    }
    auto sink = UdpSink::create(*destination);
    if (!sink) return tl::unexpected(sink.error());
    return std::unique_ptr<OutputSink>(std::move(*sink));
  }
  if (url.starts_with("file://")) return openFile(url, url.substr(7), fileMode);
  if (url.starts_with("file:")) return openFile(url, url.substr(5), fileMode);
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    return fail(ErrorCode::kUnsupported,
                "output '" + std::string(url) + "': scheme '" + std::string(url.substr(0, scheme)) +
                    "' is not supported (" + std::string(kSupported) + ")");
  }
  return openFile(url, url, fileMode);
}

}  // namespace braid::dp
