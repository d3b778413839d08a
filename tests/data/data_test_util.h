// Helpers shared by the data tests.
#pragma once

#include <functional>
#include <string>

#include "stablepose/error.h"

namespace stablepose::testing {

// The message of the stablepose::Error that f throws, or "no error".
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace stablepose::testing
