#include "stablepose/data/numpy_pickle.h"

#include <unordered_map>

#include "numpy_objects.h"
#include "stablepose/error.h"

namespace stablepose {
namespace {

using Kind = PickleValue::Kind;
using Global = PickleValue::Global;

const char* kHint =
    "pose .npz files must hold a numpy object array of dicts (numpy.savez of MMPose results); "
    "this reader accepts only that data and never runs code from a pickle";

// Names of every pickle opcode, for messages about the ones we refuse.
struct OpcodeName {
    uint8_t op;
    const char* name;
};
// clang-format off
constexpr OpcodeName kOpcodeNames[] = {
    {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"},
    {'I', "INT"}, {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"},
    {'P', "PERSID"}, {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"},
    {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"},
    {'c', "GLOBAL"}, {'d', "DICT"}, {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"},
    {'i', "INST"}, {'j', "LONG_BINGET"}, {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"},
    {'q', "BINPUT"}, {'r', "LONG_BINPUT"}, {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"},
    {'u', "SETITEMS"}, {'G', "BINFLOAT"}, {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"},
    {0x84, "EXT4"}, {0x85, "TUPLE1"}, {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"},
    {0x89, "NEWFALSE"}, {0x8a, "LONG1"}, {0x8b, "LONG4"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"},
    {0x8c, "SHORT_BINUNICODE"}, {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"},
    {0x90, "ADDITEMS"}, {0x91, "FROZENSET"}, {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
    {0x95, "FRAME"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
};
// clang-format on

const char* opcode_name(uint8_t op) {
    for (const auto& o : kOpcodeNames)
        if (o.op == op) return o.name;
    return "not a pickle opcode";
}

std::string hex_byte(uint8_t b) {
    const char* digits = "0123456789abcdef";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

class Vm {
public:
    Vm(std::span<const uint8_t> bytes, const std::string& source) : in_(bytes), source_(source) {}

    PickleGraph run() {
        while (true) {
            if (pos_ >= in_.size()) error("the pickle ends without STOP (truncated file)");
            op_pos_ = pos_;
            op_ = in_[pos_++];
            switch (op_) {
                case 0x80: {  // PROTO
                    const uint8_t v = read_u(1);
                    if (v < 2 || v > 4)
                        error("unsupported pickle protocol " + std::to_string(v), "protocol 2 to 4");
                    break;
                }
                case 0x95: {  // FRAME: a length prefix only (protocol 4); the data follows inline
                    const uint64_t len = read_u(8);
                    if (len > in_.size() - pos_) error("FRAME is longer than the rest of the file");
                    break;
                }
                case 'c': {  // GLOBAL "module\nname\n"
                    const std::string module = read_line();
                    const std::string name = read_line();
                    push(make_global(module, name));
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    PickleValue* name = pop();
                    PickleValue* module = pop();
                    if (module->kind != Kind::string || name->kind != Kind::string)
                        error("STACK_GLOBAL needs two strings", "module and name strings",
                              module->describe() + ", " + name->describe());
                    push(make_global(module->text, name->text));
                    break;
                }
                case '(':
                    marks_.push_back(stack_.size());
                    break;
                case 't':
                    push(make_sequence(Kind::tuple, pop_mark()));
                    break;
                case 0x85:
                case 0x86:
                case 0x87: {  // TUPLE1..3
                    const size_t n = op_ - 0x84;
                    std::vector<PickleValue*> items(n);
                    for (size_t i = n; i-- > 0;) items[i] = pop();
                    push(make_sequence(Kind::tuple, std::move(items)));
                    break;
                }
                case 'J':
                    push(make_int(static_cast<int32_t>(read_u(4))));
                    break;
                case 'K':
                    push(make_int(read_u(1)));
                    break;
                case 'M':
                    push(make_int(read_u(2)));
                    break;
                case 'X':
                    push(make_text(Kind::string, read_u(4)));
                    break;
                case 0x8c:
                    push(make_text(Kind::string, read_u(1)));
                    break;
                case 'B':
                    push(make_text(Kind::bytes, read_u(4)));
                    break;
                case 'C':
                    push(make_text(Kind::bytes, read_u(1)));
                    break;
                case 'N':
                    push(node(Kind::none));
                    break;
                case 0x88:
                case 0x89: {
                    PickleValue* v = node(Kind::boolean);
                    v->boolean = op_ == 0x88;
                    push(v);
                    break;
                }
                case '}':
                    push(node(Kind::dict));
                    break;
                case ']':
                    push(node(Kind::list));
                    break;
                case 'u': {  // SETITEMS
                    auto items = pop_mark();
                    if (items.size() % 2 != 0)
                        error("SETITEMS needs key/value pairs", "an even count",
                              std::to_string(items.size()));
                    PickleValue* dict = top();
                    if (dict->kind != Kind::dict)
                        error("SETITEMS on something that is not a dict", "a dict", dict->describe());
                    dict->items.insert(dict->items.end(), items.begin(), items.end());
                    break;
                }
                case 's': {  // SETITEM: CPython's form for a one-item dict
                    PickleValue* value = pop();
                    PickleValue* key = pop();
                    PickleValue* dict = top();
                    if (dict->kind != Kind::dict)
                        error("SETITEM on something that is not a dict", "a dict", dict->describe());
                    dict->items.push_back(key);
                    dict->items.push_back(value);
                    break;
                }
                case 'e':
                case 'a': {  // APPENDS, APPEND
                    auto items = op_ == 'e' ? pop_mark() : std::vector<PickleValue*>{pop()};
                    PickleValue* list = top();
                    if (list->kind != Kind::list)
                        error("append to something that is not a list", "a list", list->describe());
                    list->items.insert(list->items.end(), items.begin(), items.end());
                    break;
                }
                case 'q':
                    memo_[read_u(1)] = top();
                    break;
                case 'r':
                    memo_[read_u(4)] = top();
                    break;
                case 0x94:
                    memo_[memo_.size()] = top();
                    break;  // MEMOIZE: the next free index, as pickle.py
                case 'h':
                    push(memo_get(read_u(1)));
                    break;
                case 'j':
                    push(memo_get(read_u(4)));
                    break;
                case 'R': {
                    PickleValue* args = pop();
                    PickleValue* callable = pop();
                    try {
                        push(numpy_reduce(graph_, callable, args));
                    } catch (const PickleFormError& e) {
                        error(e.what, e.expected, e.found);
                    }
                    break;
                }
                case 'b': {
                    PickleValue* state = pop();
                    try {
                        numpy_build(top(), state);
                    } catch (const PickleFormError& e) {
                        error(e.what, e.expected, e.found);
                    }
                    break;
                }
                case '.': {  // STOP
                    if (!marks_.empty() || stack_.size() != 1)
                        error("STOP with a malformed stack", "exactly one value and no open MARK",
                              std::to_string(stack_.size()) + " values, " + std::to_string(marks_.size()) +
                                  " marks");
                    graph_.root = stack_.back();
                    return std::move(graph_);
                }
                default:
                    error("pickle opcode " + std::string(opcode_name(op_)) + " (" + hex_byte(op_) +
                              ") is not allowed",
                          "only the opcodes numpy writes for an object array of dicts (stable-pose.md §11.2)",
                          opcode_name(op_));
            }
        }
    }

private:
    [[noreturn]] void error(const std::string& what, const std::string& expected = {},
                            const std::string& found = {}) {
        fail(source_ + ": refused pickle data at byte " + std::to_string(op_pos_) + ": " + what, expected,
             found, kHint);
    }

    uint64_t read_u(int bytes) {
        if (static_cast<uint64_t>(bytes) > in_.size() - pos_)
            error("the pickle is truncated (operand of " + std::string(opcode_name(op_)) + " missing)");
        uint64_t v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | in_[pos_ + i];
        pos_ += bytes;
        return v;
    }
    std::string read_line() {
        const size_t start = pos_;
        while (pos_ < in_.size() && in_[pos_] != '\n' && pos_ - start < 256) ++pos_;
        if (pos_ >= in_.size() || in_[pos_] != '\n') error("GLOBAL name is truncated or too long");
        return std::string(reinterpret_cast<const char*>(in_.data() + start), pos_++ - start);
    }

    PickleValue* node(Kind kind) {
        auto& v = graph_.nodes.emplace_back();
        v.kind = kind;
        return &v;
    }
    PickleValue* make_int(int64_t value) {
        PickleValue* v = node(Kind::integer);
        v->integer = value;
        return v;
    }
    PickleValue* make_text(Kind kind, uint64_t len) {
        if (len > in_.size() - pos_)
            error("the pickle is truncated (" + std::to_string(len) + " bytes of data announced)");
        PickleValue* v = node(kind);
        v->text.assign(reinterpret_cast<const char*>(in_.data() + pos_), len);
        pos_ += len;
        return v;
    }
    PickleValue* make_sequence(Kind kind, std::vector<PickleValue*> items) {
        PickleValue* v = node(kind);
        v->items = std::move(items);
        return v;
    }
    PickleValue* make_global(const std::string& module, const std::string& name) {
        const bool multiarray = module == "numpy.core.multiarray" || module == "numpy._core.multiarray";
        PickleValue* v = node(Kind::global);
        if (multiarray && name == "_reconstruct")
            v->global = Global::reconstruct;
        else if (multiarray && name == "scalar")
            v->global = Global::scalar;
        else if (module == "numpy" && name == "ndarray")
            v->global = Global::ndarray;
        else if (module == "numpy" && name == "dtype")
            v->global = Global::dtype;
        else
            error("GLOBAL '" + printable(module + "." + name) + "' is not allowed",
                  "one of numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype, "
                  "numpy.core.multiarray.scalar",
                  printable(module + "." + name));
        return v;
    }

    void push(PickleValue* v) { stack_.push_back(v); }
    size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    PickleValue* top() {
        if (stack_.size() <= floor()) error(std::string(opcode_name(op_)) + " on an empty stack");
        return stack_.back();
    }
    PickleValue* pop() {
        PickleValue* v = top();
        stack_.pop_back();
        return v;
    }
    std::vector<PickleValue*> pop_mark() {
        if (marks_.empty()) error(std::string(opcode_name(op_)) + " without a MARK");
        const size_t mark = marks_.back();
        marks_.pop_back();
        std::vector<PickleValue*> items(stack_.begin() + mark, stack_.end());
        stack_.resize(mark);
        return items;
    }
    PickleValue* memo_get(uint64_t index) {
        const auto it = memo_.find(index);
        if (it == memo_.end()) error("memo entry " + std::to_string(index) + " was never stored");
        return it->second;
    }

    std::span<const uint8_t> in_;
    const std::string& source_;
    size_t pos_ = 0;
    size_t op_pos_ = 0;
    uint8_t op_ = 0;
    PickleGraph graph_;
    std::vector<PickleValue*> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, PickleValue*> memo_;
};

}  // namespace

PickleGraph unpickle_numpy(std::span<const uint8_t> bytes, const std::string& source) {
    return Vm(bytes, source).run();
}

}  // namespace stablepose
