// A restricted unpickler for numpy object arrays of dicts: a data-only pickle VM that knows exactly the
// opcodes and GLOBALs numpy emits for HumanSD/MMPose pose files (stable-pose.md §11.2) and refuses anything
// else. It never imports or calls anything: the four allowed GLOBALs are recognised by name and rebuilt here.
// Reference: CPython Lib/pickle.py (opcode semantics), numpy ndarray/dtype/scalar __reduce__.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace stablepose {

// One value of the pickle's object graph. Nodes live in a PickleGraph and point to each other (the memo
// makes the graph a DAG, or even cyclic in hostile input; nothing here follows pointers recursively).
struct PickleValue {
    enum class Kind {
        none,
        boolean,
        integer,
        string,
        bytes,
        tuple,
        list,
        dict,
        global,
        ndarray,
        dtype,
        scalar
    };
    enum class Global { reconstruct, ndarray, dtype, scalar };

    Kind kind = Kind::none;
    bool boolean = false;
    int64_t integer = 0;
    std::string text;                 // string, bytes; dtype: its name ("f4", "f8", "O8"); scalar: raw bytes
    std::vector<PickleValue*> items;  // tuple, list; dict: key, value, key, value, ...
    Global global = Global::reconstruct;  // kind == global

    // ndarray (after BUILD): shape, dtype, order and data (raw bytes, or `items` for object arrays).
    bool built = false;
    std::vector<int64_t> shape;
    const PickleValue* array_dtype = nullptr;  // ndarray and scalar
    bool fortran_order = false;
    // dtype (after BUILD): byte order character ('<', '|' or '=').
    char byte_order = '|';

    // dict lookup by string key; nullptr when absent.
    const PickleValue* get(const std::string& key) const;
    int64_t item_size() const;  // dtype: bytes per element
    bool is_object_dtype() const { return kind == Kind::dtype && text == "O8"; }
    bool is_float_dtype() const { return kind == Kind::dtype && (text == "f4" || text == "f8"); }
    // A short description for error messages ("a tuple of 3", "ndarray float32 (16, 3)").
    std::string describe() const;
};

// Owns every node; the root is what STOP returned.
struct PickleGraph {
    std::deque<PickleValue> nodes;
    const PickleValue* root = nullptr;
};

// Runs the restricted VM over `bytes`. Throws Error naming `source`, the opcode and its offset for an opcode
// or GLOBAL outside the allowed set, truncated data, a malformed stack, or arguments of the wrong form.
PickleGraph unpickle_numpy(std::span<const uint8_t> bytes, const std::string& source);

// Element (row, col) of a built 2-D float ndarray (f4 or f8, little-endian), honouring fortran order.
double ndarray_float_at(const PickleValue& array, int64_t row, int64_t col);
// A float scalar (numpy.float32/float64) as a double.
double scalar_float(const PickleValue& scalar);

// Text from an untrusted file, for messages: non-printable bytes as '?', at most `max` characters.
std::string printable(const std::string& text, size_t max = 60);

}  // namespace stablepose
