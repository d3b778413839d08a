// The numpy side of the restricted unpickler: what REDUCE and BUILD mean for the four allowed GLOBALs
// (ndarray.__reduce__, dtype.__reduce__, scalar), and the accessors of the rebuilt values.
#include <cstring>

#include "numpy_objects.h"

namespace stablepose {
namespace {

using Kind = PickleValue::Kind;
using Global = PickleValue::Global;

[[noreturn]] void fail_form(const std::string& what, const std::string& expected, const std::string& found) {
    throw PickleFormError{what, expected, found};
}

PickleValue* node(PickleGraph& graph, Kind kind) {
    auto& v = graph.nodes.emplace_back();
    v.kind = kind;
    return &v;
}

void expect_tuple(const PickleValue* v, size_t n, const char* what) {
    if (v->kind != Kind::tuple || v->items.size() != n)
        fail_form(std::string(what) + " has the wrong form", "a tuple of " + std::to_string(n),
                  v->describe());
}
std::vector<int64_t> shape_of(const PickleValue* v) {
    if (v->kind != Kind::tuple || v->items.size() > 8)
        fail_form("array shape is not a short tuple", "a tuple of up to 8 ints", v->describe());
    std::vector<int64_t> shape;
    int64_t total = 1;
    for (const auto* d : v->items) {
        if (d->kind != Kind::integer || d->integer < 0 || d->integer > (int64_t{1} << 31))
            fail_form("array dimension is not a non-negative int", "an int in [0, 2^31]", d->describe());
        shape.push_back(d->integer);
        total *= d->integer;
        if (total > (int64_t{1} << 31)) fail_form("array is too large", "at most 2^31 elements", "more");
    }
    return shape;
}

}  // namespace

PickleValue* numpy_reduce(PickleGraph& graph, const PickleValue* callable, const PickleValue* args) {
    if (callable->kind != Kind::global)
        fail_form("REDUCE on something that is not a GLOBAL", "a GLOBAL", callable->describe());
    switch (callable->global) {
        case Global::reconstruct: {  // _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD
            expect_tuple(args, 3, "_reconstruct arguments");
            if (args->items[0]->kind != Kind::global || args->items[0]->global != Global::ndarray)
                fail_form("_reconstruct of something other than numpy.ndarray", "numpy.ndarray",
                          args->items[0]->describe());
            return node(graph, Kind::ndarray);
        }
        case Global::dtype: {  // dtype('f4', False, True)
            expect_tuple(args, 3, "dtype arguments");
            const auto* name = args->items[0];
            if (name->kind != Kind::string ||
                (name->text != "f4" && name->text != "f8" && name->text != "O8"))
                fail_form("dtype not supported in pose files", "'f4', 'f8' or 'O8'", name->describe());
            PickleValue* v = node(graph, Kind::dtype);
            v->text = name->text;
            return v;
        }
        case Global::scalar: {  // scalar(dtype, raw bytes)
            expect_tuple(args, 2, "scalar arguments");
            const auto* dtype = args->items[0];
            const auto* raw = args->items[1];
            if (!dtype->is_float_dtype() || !dtype->built)
                fail_form("numpy scalar of a non-float dtype", "a float32 or float64 scalar",
                          dtype->describe());
            if (raw->kind != Kind::bytes || static_cast<int64_t>(raw->text.size()) != dtype->item_size())
                fail_form("numpy scalar data has the wrong size",
                          std::to_string(dtype->item_size()) + " bytes", raw->describe());
            PickleValue* v = node(graph, Kind::scalar);
            v->array_dtype = dtype;
            v->text = raw->text;
            v->built = true;
            return v;
        }
        case Global::ndarray:
            break;
    }
    fail_form("calling numpy.ndarray directly is not allowed", "_reconstruct, dtype or scalar",
              "numpy.ndarray(...)");
}

void numpy_build(PickleValue* target, const PickleValue* state) {
    if (target->built)
        fail_form("BUILD on an object that is already built", "a fresh dtype or ndarray", target->describe());
    if (target->kind == Kind::dtype) {  // (3, '<', None, None, None, -1, -1, flags)
        expect_tuple(state, 8, "dtype state");
        const auto* order = state->items[1];
        if (state->items[0]->kind != Kind::integer || state->items[0]->integer != 3)
            fail_form("dtype state version", "3", state->items[0]->describe());
        if (order->kind != Kind::string || order->text.size() != 1 ||
            std::string("<|=").find(order->text[0]) == std::string::npos)
            fail_form("dtype byte order not supported", "'<', '|' or '=' (little-endian)", order->describe());
        target->byte_order = order->text[0];
    } else if (target->kind == Kind::ndarray) {  // (1, shape, dtype, is_fortran, data)
        expect_tuple(state, 5, "ndarray state");
        const auto& s = state->items;
        if (s[0]->kind != Kind::integer || s[0]->integer != 1)
            fail_form("ndarray state version", "1", s[0]->describe());
        target->shape = shape_of(s[1]);
        if (s[2]->kind != Kind::dtype || !s[2]->built)
            fail_form("ndarray dtype", "a built numpy dtype", s[2]->describe());
        if (s[3]->kind != Kind::boolean) fail_form("ndarray order flag", "True or False", s[3]->describe());
        target->array_dtype = s[2];
        target->fortran_order = s[3]->boolean;
        int64_t count = 1;
        for (const auto d : target->shape) count *= d;
        if (s[2]->is_object_dtype()) {
            if (s[4]->kind != Kind::list || static_cast<int64_t>(s[4]->items.size()) != count)
                fail_form("object array data", "a list of " + std::to_string(count) + " items",
                          s[4]->describe());
            target->items = s[4]->items;
        } else {
            if (s[4]->kind != Kind::bytes ||
                static_cast<int64_t>(s[4]->text.size()) != count * s[2]->item_size())
                fail_form("array data has the wrong size",
                          std::to_string(count * s[2]->item_size()) + " bytes", s[4]->describe());
            target->text = s[4]->text;
        }
    } else {
        fail_form("BUILD on something that is not a numpy dtype or array", "a dtype or ndarray",
                  target->describe());
    }
    target->built = true;
}

namespace {

double little_endian_float(const char* p, int64_t size) {
    if (size == 4) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    double d;
    std::memcpy(&d, p, 8);
    return d;
}

}  // namespace

std::string printable(const std::string& s, size_t max) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max; ++i) out += (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    return s.size() > max ? out + "..." : out;
}

const PickleValue* PickleValue::get(const std::string& key) const {
    if (kind != Kind::dict) return nullptr;
    for (size_t i = 0; i + 1 < items.size(); i += 2)
        if (items[i]->kind == Kind::string && items[i]->text == key) return items[i + 1];
    return nullptr;
}

int64_t PickleValue::item_size() const { return text == "f4" ? 4 : 8; }

std::string PickleValue::describe() const {
    switch (kind) {
        case Kind::none:
            return "None";
        case Kind::boolean:
            return boolean ? "True" : "False";
        case Kind::integer:
            return "the int " + std::to_string(integer);
        case Kind::string:
            return "the string '" + printable(text, 40) + "'";
        case Kind::bytes:
            return "bytes of length " + std::to_string(text.size());
        case Kind::tuple:
            return "a tuple of " + std::to_string(items.size());
        case Kind::list:
            return "a list of " + std::to_string(items.size());
        case Kind::dict:
            return "a dict of " + std::to_string(items.size() / 2) + " items";
        case Kind::global:
            return "a GLOBAL";
        case Kind::dtype:
            return "dtype '" + printable(text) + "'";
        case Kind::scalar:
            return "a numpy scalar";
        case Kind::ndarray: {
            std::string s = "an ndarray";
            if (array_dtype) s += " of dtype '" + printable(array_dtype->text) + "'";
            s += " with shape (";
            for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
            return s + (shape.size() == 1 ? ",)" : ")");
        }
    }
    return "?";
}

double ndarray_float_at(const PickleValue& array, int64_t row, int64_t col) {
    const int64_t size = array.array_dtype->item_size();
    const int64_t rows = array.shape.at(0), cols = array.shape.at(1);
    const int64_t index = array.fortran_order ? col * rows + row : row * cols + col;
    return little_endian_float(array.text.data() + index * size, size);
}

double scalar_float(const PickleValue& scalar) {
    return little_endian_float(scalar.text.data(), scalar.array_dtype->item_size());
}

}  // namespace stablepose
