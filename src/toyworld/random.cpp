#include "stablepose/toyworld/random.h"

#include <cmath>
#include <numbers>

namespace stablepose::toyworld {
namespace {

std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::uint32_t lo32(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
std::uint32_t hi32(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }

}  // namespace

Random Random::for_sample(std::uint64_t seed, std::string_view split, std::uint64_t index) {
    const std::uint64_t tag = fnv1a(split);
    std::seed_seq seq{lo32(seed), hi32(seed), lo32(index), hi32(index), lo32(tag), hi32(tag)};
    return Random(seq);
}

double Random::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Random::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

int Random::uniform_int(int lo, int hi) {
    const auto span = static_cast<double>(hi) - lo + 1.0;
    return lo + static_cast<int>(std::floor(uniform() * span));
}

bool Random::bernoulli(double p) { return uniform() < p; }

double Random::normal(double mean, double stddev) {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace stablepose::toyworld
