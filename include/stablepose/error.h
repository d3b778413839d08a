// Errors that teach: what failed, what was expected, what was found, and what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace stablepose {

// Every user-facing failure in the library throws this; tools print what() and exit non-zero.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Builds the message in the house format:
//   <what>
//     expected: <expected>
//     found:    <found>
//     hint:     <hint>
// Empty parts are left out.
[[noreturn]] void fail(const std::string& what, const std::string& expected = {}, const std::string& found = {},
                       const std::string& hint = {});

std::string format_error(const std::string& what, const std::string& expected, const std::string& found,
                         const std::string& hint);

}  // namespace stablepose
