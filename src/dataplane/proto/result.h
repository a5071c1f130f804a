#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace braid {

// Broad classes of failure; the context string says what exactly went wrong.
enum class ErrorCode {
  kInvalidArgument,
  kParse,
  kAuth,
  kCrypto,
  kIo,
  kNotFound,
  kExhausted,
  kTimeout,
  kUnsupported,
  kInternal,
};

const char* errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string context;

  std::string describe() const { return std::string(errorCodeName(code)) + ": " + context; }
};

template <typename T>
using Result = tl::expected<T, Error>;

// Result<void> success value: `return ok();`.
inline Result<void> ok() {
  return {};
}

inline tl::unexpected<Error> fail(ErrorCode code, std::string context) {
  return tl::unexpected<Error>(Error{code, std::move(context)});
}

inline const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kParse:
      return "parse error";
    case ErrorCode::kAuth:
      return "authentication failed";
    case ErrorCode::kCrypto:
      return "crypto error";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kExhausted:
      return "exhausted";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace braid
