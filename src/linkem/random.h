#pragma once

// A small seeded generator with its own distributions: the standard library's distributions
// are implementation-defined, and a scenario's seed must give the same drops on every build.

#include <cmath>
#include <cstdint>

namespace braid::linkem {

class Random {
 public:
  // Seeds from (seed, stream): different streams of one seed are independent sequences.
  Random(uint64_t seed, uint64_t stream) {
    uint64_t s = seed ^ (stream * 0x9e3779b97f4a7c15ull);
    for (uint64_t& word : state_) word = splitmix(s);
  }

  // xoshiro256** (Blackman & Vigna).
  uint64_t next() noexcept {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) noexcept { return p > 0 && uniform() < p; }
  // Exponential with the given mean.
  double exponential(double mean) noexcept { return -mean * std::log1p(-uniform()); }
  // |N(0, sigma)| by Box-Muller (one of the pair; determinism matters more than speed here).
  double halfNormal(double sigma) noexcept {
    double u1 = 1.0 - uniform();  // (0, 1]
    double u2 = uniform();
    return std::fabs(sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_[4]{};
};

}  // namespace braid::linkem
