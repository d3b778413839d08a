#include "stablepose/error.h"

namespace stablepose {

std::string format_error(const std::string& what, const std::string& expected, const std::string& found,
                         const std::string& hint) {
    std::string message = what;
    if (!expected.empty()) message += "\n  expected: " + expected;
    if (!found.empty()) message += "\n  found:    " + found;
    if (!hint.empty()) message += "\n  hint:     " + hint;
    return message;
}

void fail(const std::string& what, const std::string& expected, const std::string& found, const std::string& hint) {
    throw Error(format_error(what, expected, found, hint));
}

}  // namespace stablepose
