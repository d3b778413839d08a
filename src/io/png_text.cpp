#include "stablepose/io/png_text.h"

#include <fstream>
#include <sstream>

#include <zlib.h>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"

namespace stablepose {
namespace {

constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
constexpr size_t kSignatureSize = 8;

void put_u32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t get_u32(const std::string& in, size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
    return v;
}

std::string chunk(const std::string& type, const std::string& data) {
    std::string out;
    put_u32(out, static_cast<uint32_t>(data.size()));
    const std::string body = type + data;
    out += body;
    put_u32(out, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()),
                                             static_cast<uInt>(body.size()))));
    return out;
}

std::string itxt(const std::string& key, const std::string& value) {
    if (key.empty() || key.size() > 79 || key.find('\0') != std::string::npos)
        fail("PNG text: bad keyword", "1 to 79 characters without NUL", key);
    std::string data = key;
    data.push_back('\0');
    data.push_back('\0');  // not compressed
    data.push_back('\0');  // compression method
    data.push_back('\0');  // empty language tag
    data.push_back('\0');  // empty translated keyword
    return data + value;
}

}  // namespace

std::string encode_png_with_text(const cv::Mat& image, const std::map<std::string, std::string>& text) {
    const std::string png = encode_png(image);
    // The first chunk after the signature is IHDR: 4 length + 4 type + 13 data + 4 crc.
    const size_t after_ihdr = kSignatureSize + 4 + 4 + get_u32(png, kSignatureSize) + 4;
    std::string out = png.substr(0, after_ihdr);
    for (const auto& [key, value] : text) out += chunk("iTXt", itxt(key, value));
    out += png.substr(after_ihdr);
    return out;
}

void write_png_with_text(const std::filesystem::path& path, const cv::Mat& image,
                         const std::map<std::string, std::string>& text) {
    write_file_atomic(path, encode_png_with_text(image, text));
}

std::map<std::string, std::string> read_png_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open PNG '" + path.string() + "'", "a readable PNG file", "cannot open");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string png = buffer.str();
    if (png.size() < kSignatureSize || png.compare(0, kSignatureSize, std::string(kSignature, kSignatureSize)) != 0)
        fail("not a PNG file: " + path.string(), "the PNG signature", "other bytes");
    std::map<std::string, std::string> out;
    size_t at = kSignatureSize;
    while (at + 12 <= png.size()) {
        const uint32_t length = get_u32(png, at);
        if (at + 12 + static_cast<size_t>(length) > png.size()) break;
        const std::string type = png.substr(at + 4, 4);
        const std::string data = png.substr(at + 8, length);
        if (type == "tEXt") {
            const auto nul = data.find('\0');
            if (nul != std::string::npos) out[data.substr(0, nul)] = data.substr(nul + 1);
        } else if (type == "iTXt") {
            const auto nul = data.find('\0');
            if (nul != std::string::npos && nul + 2 < data.size() && data[nul + 1] == '\0') {
                const auto lang_end = data.find('\0', nul + 3);
                const auto trans_end = lang_end == std::string::npos ? lang_end : data.find('\0', lang_end + 1);
                if (trans_end != std::string::npos) out[data.substr(0, nul)] = data.substr(trans_end + 1);
            }
        } else if (type == "IEND") {
            return out;
        }
        at += 12 + length;
    }
    fail("truncated PNG: " + path.string(), "chunks up to IEND", "the file ends early");
}

}  // namespace stablepose
