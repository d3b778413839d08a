// The text of an exception thrown by LibTorch, for the "found:" line of an Error.
#pragma once

#include <exception>
#include <string>

#include <c10/util/Exception.h>

namespace stablepose {

// c10::Error without its C++ backtrace; anything else (the TorchScript interpreter rethrows an op's failure
// as std::runtime_error carrying the script traceback) as it is.
inline std::string torch_error_message(const std::exception& e) {
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
        return c10_error->what_without_backtrace();
    return e.what();
}

}  // namespace stablepose
