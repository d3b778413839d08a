// Deterministic random numbers for the toy world: the same values on every platform and standard library.
// (std::uniform_real_distribution and friends are implementation-defined; std::mt19937_64 and
// std::seed_seq are fully specified, so only those are used.)
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace stablepose::toyworld {

class Random {
public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}
    // The generator of sample `index` of split `split`: a std::mt19937_64 seeded through std::seed_seq from
    // (seed, index, FNV-1a(split)), so a sample does not depend on the sample count or the thread count,
    // and the training and validation splits of one seed share no sample.
    static Random for_sample(std::uint64_t seed, std::string_view split, std::uint64_t index);

    double uniform();                       // [0, 1), 53 random bits
    double uniform(double lo, double hi);   // [lo, hi)
    int uniform_int(int lo, int hi);        // [lo, hi], both ends included
    bool bernoulli(double p);
    double normal(double mean, double stddev);  // Box-Muller
    std::uint64_t next() { return engine_(); }

    template <class T>
    const T& pick(const std::vector<T>& items) {
        return items[static_cast<size_t>(uniform_int(0, static_cast<int>(items.size()) - 1))];
    }

private:
    explicit Random(std::seed_seq& seq) : engine_(seq) {}
    std::mt19937_64 engine_;
};

}  // namespace stablepose::toyworld
