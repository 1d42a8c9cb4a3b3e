// A small, portable random stream. std::normal_distribution is implementation-defined, so
// results would differ between standard libraries; these draws are bit-identical everywhere.
// Streams are keyed (seed, key...) so that, e.g., neuron i's initial weights do not depend on
// how many neurons or ranks there are.
#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>

namespace absrep {

// SplitMix64 finaliser: a bijective mix of 64 bits.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Derive one seed from a base seed and any number of keys (point index, replicate, neuron ...).
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) {
  std::uint64_t s = mix64(seed);
  for (std::uint64_t k : keys) s = mix64(s ^ mix64(k + 0x632BE59BD9B4E019ULL));
  return s;
}

// xoshiro256** (Blackman & Vigna), seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : s_) word = seed = mix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform on (0, 1): 53 random bits, never exactly 0.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  // Standard normal by Box–Muller (both values used).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double theta = 2.0 * std::numbers::pi * uniform();
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace absrep
