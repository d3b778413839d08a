// Writes HumanSD pose files byte for byte as numpy would: the .npy header of numpy 2's format.write_array and
// the protocol-3 pickle CPython's pickler produces for np.array(mmpose_results), with numpy 1.x's module
// path. Reference: CPython Modules/_pickle.c (save_reduce, memoize, batch_list, batch_dict), numpy
// lib/format.py.
#include <cstring>

#include "stablepose/data/humansd_npz.h"

namespace stablepose {
namespace {

// The pickler's output with its memo: every str, bytes, tuple, GLOBAL and REDUCE result gets the next index
// (BINPUT); a second use of the same object (an interned key, a shared dtype) is a BINGET.
class Pickler {
public:
    std::string out;

    void op(char c) { out.push_back(c); }
    void u(uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    int put() {
        const int index = next_++;
        if (index < 256)
            op('q'), u(index, 1);
        else
            op('r'), u(index, 4);
        return index;
    }
    void get(int index) {
        if (index < 256)
            op('h'), u(index, 1);
        else
            op('j'), u(index, 4);
    }
    void integer(int64_t v) {
        if (v >= 0 && v <= 0xFF)
            op('K'), u(v, 1);
        else if (v >= 0 && v <= 0xFFFF)
            op('M'), u(v, 2);
        else
            op('J'), u(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    }
    int global(const std::string& module, const std::string& name) {
        op('c');
        out += module + "\n" + name + "\n";
        return put();
    }
    int unicode(const std::string& s) {
        op('X');
        u(s.size(), 4);
        out += s;
        return put();
    }
    int bytes(const std::string& b) {
        if (b.size() < 256)
            op('C'), u(b.size(), 1);
        else
            op('B'), u(b.size(), 4);
        out += b;
        return put();
    }
    // A memoised string: BINUNICODE the first time, BINGET after (Python interns the dict keys).
    void cached_unicode(int& memo, const std::string& s) {
        if (memo < 0)
            memo = unicode(s);
        else
            get(memo);
    }

private:
    int next_ = 0;
};

constexpr const char* kMultiarray = "numpy.core.multiarray";

struct Memo {
    int reconstruct = -1, ndarray = -1, b = -1, dtype = -1, f4 = -1, scalar = -1;
    int keypoints = -1, score = -1, area = -1;
};

// dtype(name, False, True) with its BUILD state (3, order, None, None, None, -1, -1, flags); the numpy.dtype
// GLOBAL is already on the stack.
int pickle_dtype(Pickler& p, const std::string& name, const std::string& order, int flags) {
    p.unicode(name);
    p.op('\x89'), p.op('\x88'), p.op('\x87'), p.put();  // False, True, TUPLE3
    p.op('R');
    const int index = p.put();
    p.op('(');
    p.integer(3);
    p.unicode(order);
    p.op('N'), p.op('N'), p.op('N');
    p.integer(-1), p.integer(-1), p.integer(flags);
    p.op('t'), p.put();
    p.op('b');
    return index;
}

// _reconstruct(ndarray, (0,), b'b'), REDUCE'd and memoised.
void pickle_reconstruct(Pickler& p, const Memo& m) {
    p.get(m.reconstruct);
    p.get(m.ndarray);
    p.integer(0);
    p.op('\x85'), p.put();  // TUPLE1
    p.get(m.b);
    p.op('\x87'), p.put();  // TUPLE3
    p.op('R'), p.put();
}

std::string float32_bytes(float v) {
    std::string s(4, '\0');
    std::memcpy(s.data(), &v, 4);
    return s;
}

void pickle_scalar(Pickler& p, Memo& m, float value) {
    if (m.scalar < 0)
        m.scalar = p.global(kMultiarray, "scalar");
    else
        p.get(m.scalar);
    p.get(m.f4);
    p.bytes(float32_bytes(value));
    p.op('\x86'), p.put();  // TUPLE2
    p.op('R'), p.put();
}

void pickle_person(Pickler& p, Memo& m, const HumansdPerson& person) {
    p.op('}'), p.put();
    p.op('(');
    p.cached_unicode(m.keypoints, "keypoints");
    pickle_reconstruct(p, m);
    p.op('(');
    p.integer(1);
    p.integer(kHumansdJoints), p.integer(3);
    p.op('\x86'), p.put();  // shape (17, 3)
    if (m.f4 < 0) {
        p.get(m.dtype);
        m.f4 = pickle_dtype(p, "f4", "<", 0);
    } else {
        p.get(m.f4);
    }
    p.op('\x89');  // not fortran order
    std::string data;
    for (const auto& k : person.keypoints)
        data += float32_bytes(k.x) + float32_bytes(k.y) + float32_bytes(k.confidence);
    p.bytes(data);
    p.op('t'), p.put();
    p.op('b');
    p.cached_unicode(m.score, "score");
    pickle_scalar(p, m, person.score.value_or(0.0f));
    p.cached_unicode(m.area, "area");
    pickle_scalar(p, m, person.area.value_or(0.0f));
    p.op('u');  // SETITEMS
}

std::string npy_header(const std::string& descr, size_t count) {
    const std::string shape = std::to_string(count);
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + ",), }";
    header += std::string(21 - shape.size(), ' ');  // numpy's GROWTH_AXIS_MAX_DIGITS spare space
    const size_t hlen = header.size() + 1;
    const size_t padlen = 64 - ((10 + hlen) % 64);
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out.push_back(static_cast<char>((hlen + padlen) & 0xFF));
    out.push_back(static_cast<char>((hlen + padlen) >> 8));
    return out + header + std::string(padlen, ' ') + "\n";
}

}  // namespace

std::string humansd_npy_bytes(const std::vector<HumansdPerson>& people) {
    // np.array([]) is a float64 array of shape (0,): what np.savez(path, []) stores for an image without
    // people.
    if (people.empty()) return npy_header("<f8", 0);
    Pickler p;
    Memo m;
    p.op('\x80'), p.u(3, 1);
    m.reconstruct = p.global(kMultiarray, "_reconstruct");
    m.ndarray = p.global("numpy", "ndarray");
    p.integer(0);
    p.op('\x85'), p.put();
    m.b = p.bytes("b");
    p.op('\x87'), p.put();
    p.op('R'), p.put();
    p.op('(');
    p.integer(1);
    p.integer(static_cast<int64_t>(people.size()));
    p.op('\x85'), p.put();  // shape (P,)
    m.dtype = p.global("numpy", "dtype");
    pickle_dtype(p, "O8", "|", 63);
    p.op('\x89');  // not fortran order
    p.op(']'), p.put();
    if (people.size() ==
        1) {  // CPython writes a one-item list with APPEND, longer ones in MARK/APPENDS batches
        pickle_person(p, m, people[0]);
        p.op('a');
    } else {
        for (size_t start = 0; start < people.size(); start += 1000) {
            p.op('(');
            for (size_t i = start; i < std::min(people.size(), start + 1000); ++i)
                pickle_person(p, m, people[i]);
            p.op('e');
        }
    }
    p.op('t'), p.put();
    p.op('b');
    p.op('.');
    return npy_header("|O", people.size()) + p.out;
}

}  // namespace stablepose
