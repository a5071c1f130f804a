#include "edge/media/open_ts_source.h"

#include <string>

#include "braid_config.h"
#include "dataplane/output/host_port.h"
#include "edge/media/test_pattern_options.h"
#include "edge/media/ts_file_source.h"
#include "edge/media/udp_ts_source.h"
#if BRAID_HAVE_TESTPATTERN
#include "edge/media/test_pattern_source.h"
#endif

namespace braid::edge {

namespace {

constexpr std::string_view kSupported =
    "expected file:PATH[?loop=1], PATH, udp://HOST:PORT or testpattern:[?OPTIONS]";

Result<std::unique_ptr<TsSource>> openFile(std::string_view url, std::string_view path,
                                           std::string_view query, const TsInputOptions& options) {
  TsFileOptions fileOptions{.loop = false,
                            .pace = options.pace,
                            .fallbackBitrate = options.fallbackBitrate,
                            .clock = options.clock};
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item == "loop=1" || item == "loop=true" || item == "loop") {
      fileOptions.loop = true;
    } else if (item == "loop=0" || item == "loop=false") {
      fileOptions.loop = false;
    } else {
      return fail(ErrorCode::kInvalidArgument, "input '" + std::string(url) +
                                                   "': unknown option '" + std::string(item) +
                                                   "' (known: loop=0|1)");
    }
  }
  if (path.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "input '" + std::string(url) + "': empty path (" + std::string(kSupported) + ")");
  }
  auto source = TsFileSource::open(std::string(path), fileOptions);
  if (!source) return tl::unexpected(source.error());
  return std::unique_ptr<TsSource>(std::move(*source));
}

}  // namespace

Result<std::unique_ptr<TsSource>> openTsSource(std::string_view url,
                                               const TsInputOptions& options) {
  if (url.empty()) {
    return fail(ErrorCode::kInvalidArgument, "empty input URL (" + std::string(kSupported) + ")");
  }
  if (isTestPatternUrl(url)) {
    auto parsed = parseTestPatternUrl(url);
    if (!parsed) return tl::unexpected(parsed.error());
#if BRAID_HAVE_TESTPATTERN
    parsed->clock = options.clock;
    auto source = TestPatternSource::open(*parsed);
    if (!source) return tl::unexpected(source.error());
    return std::unique_ptr<TsSource>(std::move(*source));
#else
    return fail(ErrorCode::kUnsupported,
                "input '" + std::string(url) +
                    "': this braid-edge was built without the test pattern (meson -Dtestpattern "
                    "needs FFmpeg's libavfilter, libavformat and libavcodec with libx264)");
#endif
  }
  if (url.starts_with("udp://")) {
    auto local = dp::parseUdpUrl(url, /*allowEmptyHost=*/true);
    if (!local) return fail(local.error().code, "input: " + local.error().context);
    UdpTsOptions udpOptions;
    udpOptions.clock = options.clock;
    auto source = UdpTsSource::open(*local, udpOptions);
    if (!source) return tl::unexpected(source.error());
    return std::unique_ptr<TsSource>(std::move(*source));
  }
  if (url.starts_with("file:")) {
    std::string_view rest = url.substr(5);
    if (rest.starts_with("//")) rest = rest.substr(2);
    auto question = rest.find('?');
    std::string_view query =
        question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
    return openFile(url, rest.substr(0, question), query, options);
  }
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    return fail(ErrorCode::kUnsupported,
                "input '" + std::string(url) + "': scheme '" + std::string(url.substr(0, scheme)) +
                    "' is not supported (" + std::string(kSupported) + ")");
  }
  return openFile(url, url, {}, options);
}

}  // namespace braid::edge
