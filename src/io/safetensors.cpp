#include "stablepose/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"

namespace stablepose {
namespace {

const std::map<std::string, torch::ScalarType>& dtype_table() {
    static const std::map<std::string, torch::ScalarType> table = {
        {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
        {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
        {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
    return table;
}

std::string dtype_name(torch::ScalarType type) {
    for (const auto& [name, t] : dtype_table())
        if (t == type) return name;
    fail("safetensors: unsupported dtype", "F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL", c10::toString(type));
}

}  // namespace

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    // The header is untrusted input: every size, offset and dtype is checked before any memory is touched.
    const std::string where = "safetensors file '" + path.string() + "'";
    const char* hint = "the file is truncated, corrupt or not a safetensors file; re-create it";
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open " + where, "an existing, readable file", std::filesystem::exists(path) ? "unreadable" : "no such file");
    const auto file_size = std::filesystem::file_size(path);
    std::uint64_t header_size = 0;
    if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_size), 8))
        fail(where + " is truncated", "at least 8 bytes", std::to_string(file_size) + " bytes", hint);
    if (header_size < 2 || header_size > file_size - 8 || header_size > (100u << 20))
        fail(where + " has an impossible header length", "2 .. min(file size - 8, 100 MiB) bytes",
             std::to_string(header_size), hint);
    std::string header(header_size, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_size));
    const std::uint64_t data_size = file_size - 8 - header_size;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::exception& e) {
        fail(where + ": the header is not JSON", "a JSON object", e.what(), hint);
    }
    if (!j.is_object()) fail(where + ": the header is not a JSON object", "an object", j.type_name(), hint);

    struct Entry {
        std::string name;
        torch::ScalarType dtype;
        std::vector<int64_t> shape;
        std::uint64_t begin, end;
    };
    std::vector<Entry> entries;
    SafetensorsFile out;
    for (const auto& [name, info] : j.items()) {
        const std::string what = where + ": tensor '" + name + "'";
        if (name == "__metadata__") {
            if (!info.is_object()) fail(where + ": __metadata__ must be an object of strings", "an object", info.dump(), hint);
            for (const auto& [k, v] : info.items()) {
                if (!v.is_string()) fail(where + ": metadata value '" + k + "' is not a string", "a string", v.dump(), hint);
                out.metadata[k] = v.get<std::string>();
            }
            continue;
        }
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets") ||
            !info["dtype"].is_string() || !info["shape"].is_array() || !info["data_offsets"].is_array() ||
            info["data_offsets"].size() != 2)
            fail(what + " has a malformed entry", "{dtype: string, shape: [ints], data_offsets: [begin, end]}",
                 info.dump(), hint);
        const auto dtype_it = dtype_table().find(info["dtype"].get<std::string>());
        if (dtype_it == dtype_table().end())
            fail(what + " has an unsupported dtype", "F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL", info["dtype"].dump());
        Entry e{name, dtype_it->second, {}, 0, 0};
        std::uint64_t bytes = c10::elementSize(e.dtype);
        for (const auto& dim : info["shape"]) {
            if (!dim.is_number_unsigned() && !(dim.is_number_integer() && dim.get<int64_t>() >= 0))
                fail(what + " has a bad dimension", "non-negative integers", info["shape"].dump(), hint);
            const auto d = dim.get<std::uint64_t>();
            if (d > (1ull << 40) || __builtin_mul_overflow(bytes, d, &bytes))
                fail(what + " is impossibly large", "a size that fits the file", info["shape"].dump(), hint);
            e.shape.push_back(static_cast<int64_t>(d));
        }
        for (const auto& o : info["data_offsets"])
            if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
                fail(what + " has bad data offsets", "two non-negative integers", info["data_offsets"].dump(), hint);
        e.begin = info["data_offsets"][0].get<std::uint64_t>();
        e.end = info["data_offsets"][1].get<std::uint64_t>();
        if (e.end < e.begin || e.end - e.begin != bytes || e.end > data_size)
            fail(what + " has inconsistent data offsets",
                 std::to_string(bytes) + " bytes inside the " + std::to_string(data_size) + "-byte data section",
                 info["data_offsets"].dump(), hint);
        entries.push_back(std::move(e));
    }
    // The data section must be covered exactly, without overlaps or holes (as the reference reader demands).
    std::vector<const Entry*> order;
    for (const auto& e : entries) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
    std::uint64_t cursor = 0;
    for (const auto* e : order) {
        if (e->begin != cursor)
            fail(where + ": tensor '" + e->name + "' " + (e->begin < cursor ? "overlaps another" : "leaves a hole"),
                 "data at offset " + std::to_string(cursor), "offset " + std::to_string(e->begin), hint);
        cursor = e->end;
    }
    if (cursor != data_size)
        fail(where + ": the data section has bytes no tensor owns", std::to_string(cursor) + " bytes",
             std::to_string(data_size) + " bytes", hint);
    std::string data(data_size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data_size));
    if (!in) fail(where + " could not be read completely", std::to_string(data_size) + " bytes of data", "less", hint);
    for (const auto& e : entries) {
        auto tensor = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
        if (e.end > e.begin) std::memcpy(tensor.data_ptr(), data.data() + e.begin, e.end - e.begin);
        out.tensors.emplace(e.name, tensor);
    }
    return out;
}

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::vector<torch::Tensor> cpu;
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        auto c = t.detach().to(torch::kCPU).contiguous();
        const std::uint64_t bytes = c.numel() * c.element_size();
        header[name] = {{"dtype", dtype_name(c.scalar_type())},
                        {"shape", c.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        cpu.push_back(c);
    }
    std::string head = header.dump();
    head.append((8 - head.size() % 8) % 8, ' ');  // align the data section to 8 bytes
    std::string blob(8, '\0');
    const std::uint64_t head_size = head.size();
    std::memcpy(blob.data(), &head_size, 8);
    blob += head;
    for (const auto& c : cpu) blob.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
    write_file_atomic(path, blob);
}

}  // namespace stablepose
