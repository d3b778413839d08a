// Private to the pickle reader: numpy's REDUCE/BUILD semantics for the allowed GLOBALs (numpy_objects.cpp),
// used by the VM (numpy_pickle.cpp). Errors come back as PickleFormError; the VM adds file and offset.
#pragma once

#include <string>

#include "stablepose/data/numpy_pickle.h"

namespace stablepose {

struct PickleFormError {
    std::string what, expected, found;
};

// callable(*args) for callable one of _reconstruct, dtype, scalar; a new node of `graph`.
PickleValue* numpy_reduce(PickleGraph& graph, const PickleValue* callable, const PickleValue* args);
// BUILD: the dtype or ndarray `target` takes `state` (numpy's __setstate__ tuple).
void numpy_build(PickleValue* target, const PickleValue* state);

}  // namespace stablepose
