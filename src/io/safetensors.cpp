#include "stablepose/io/safetensors.h"

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
    const std::string where = "safetensors file '" + path.string() + "'";
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open " + where, "an existing, readable file", std::filesystem::exists(path) ? "unreadable" : "no such file");
    const auto file_size = std::filesystem::file_size(path);
    std::uint64_t header_size = 0;
    if (file_size < 8 || !in.read(reinterpret_cast<char*>(&header_size), 8))
        fail(where + " is truncated", "at least 8 bytes", std::to_string(file_size) + " bytes");
    if (header_size > file_size - 8)
        fail(where + " has a header longer than the file", "header <= " + std::to_string(file_size - 8),
             std::to_string(header_size), "the file is truncated or not a safetensors file");
    std::string header(header_size, '\0');
    in.read(header.data(), static_cast<std::streamsize>(header_size));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(header);
    } catch (const nlohmann::json::exception& e) {
        fail(where + ": the header is not JSON", "a JSON object", e.what());
    }
    const std::uint64_t data_size = file_size - 8 - header_size;
    std::string data(data_size, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data_size));
    if (!in) fail(where + " could not be read completely", std::to_string(data_size) + " bytes of data");

    SafetensorsFile out;
    for (const auto& [name, info] : j.items()) {
        if (name == "__metadata__") {
            for (const auto& [k, v] : info.items()) out.metadata[k] = v.get<std::string>();
            continue;
        }
        const auto dtype_it = dtype_table().find(info.at("dtype").get<std::string>());
        if (dtype_it == dtype_table().end())
            fail(where + ": tensor '" + name + "' has an unsupported dtype", "F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL",
                 info.at("dtype").dump());
        const auto shape = info.at("shape").get<std::vector<int64_t>>();
        const auto offsets = info.at("data_offsets").get<std::vector<std::uint64_t>>();
        auto tensor = torch::empty(shape, torch::TensorOptions().dtype(dtype_it->second));
        const std::uint64_t bytes = tensor.numel() * tensor.element_size();
        if (offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != bytes || offsets[1] > data_size)
            fail(where + ": tensor '" + name + "' has inconsistent data offsets",
                 std::to_string(bytes) + " bytes inside " + std::to_string(data_size), info.at("data_offsets").dump());
        if (bytes > 0) std::memcpy(tensor.data_ptr(), data.data() + offsets[0], bytes);
        out.tensors.emplace(name, tensor);
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
