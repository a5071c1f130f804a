#pragma once

// Shared helpers of the libFuzzer targets.

#include <cstdio>
#include <cstdlib>

// An invariant the codecs promise; a violation is a finding, so crash loudly.
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace braid::proto::fuzz {

// fuzz_inner_messages: the first input byte (modulo kInnerCount) picks the parser, the
// rest is the plaintext. gen_corpus.cpp writes seeds with these selectors.
enum InnerSelector : unsigned char {
  kInnerAck,
  kInnerNack,
  kInnerKeepalive,
  kInnerProbe,
  kInnerJoin,
  kInnerClose,
  kInnerRepair,
  kInnerData,
  kInnerCount,
};

}  // namespace braid::proto::fuzz
