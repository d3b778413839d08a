#include "stablepose/data/zip_archive.h"

#include <zlib.h>

#include <algorithm>

#include "stablepose/data/numpy_pickle.h"
#include "stablepose/error.h"

namespace stablepose {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint32_t kZip64EndOfCentralDirectory = 0x06064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;

const char* kHint = "the file is not a valid .npz (zip) archive; re-create it with numpy.savez";

// Bounds-checked little-endian reads; every offset comes from the file, so every read is checked.
struct Reader {
    std::span<const uint8_t> data;
    const std::string& source;

    void need(uint64_t offset, uint64_t size, const char* what) const {
        if (offset > data.size() || size > data.size() - offset)
            fail(source + ": zip archive is truncated or corrupt (" + what + " lies outside the file)",
                 "a complete zip archive",
                 std::to_string(data.size()) + " bytes, " + what + " at offset " + std::to_string(offset) +
                     " + " + std::to_string(size),
                 kHint);
    }
    uint64_t le(uint64_t offset, int bytes, const char* what) const {
        need(offset, bytes, what);
        uint64_t v = 0;
        for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | data[offset + i];
        return v;
    }
    uint16_t u16(uint64_t offset, const char* what) const {
        return static_cast<uint16_t>(le(offset, 2, what));
    }
    uint32_t u32(uint64_t offset, const char* what) const {
        return static_cast<uint32_t>(le(offset, 4, what));
    }
    uint64_t u64(uint64_t offset, const char* what) const { return le(offset, 8, what); }
};

uint64_t find_end_of_central_directory(const Reader& r) {
    const uint64_t n = r.data.size();
    if (n < 22) r.need(0, 22, "end of central directory");
    const uint64_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;  // the comment is at most 65535 bytes
    for (uint64_t pos = n - 22 + 1; pos-- > lowest;)
        if (r.u32(pos, "end of central directory") == kEndOfCentralDirectory) return pos;
    fail(r.source + ": not a zip archive (no end-of-central-directory record)",
         "a .npz file written by numpy", std::to_string(n) + " bytes without the record", kHint);
}

// Replaces 0xFFFFFFFF fields by their zip64 extra-field values, in the APPNOTE order.
void apply_zip64_extra(const Reader& r, uint64_t extra, uint64_t extra_len, ZipEntry& e) {
    uint64_t pos = extra;
    const uint64_t end = extra + extra_len;
    while (pos + 4 <= end) {
        const uint16_t id = r.u16(pos, "extra field");
        const uint16_t len = r.u16(pos + 2, "extra field");
        r.need(pos + 4, len, "extra field");
        if (id == kZip64ExtraId) {
            uint64_t p = pos + 4;
            const uint64_t stop = p + len;
            auto next = [&](uint64_t& field) {
                if (field != 0xFFFFFFFFu) return;
                if (p + 8 > stop)
                    fail(r.source + ": zip64 extra field too short for member '" + e.name + "'",
                         "an 8-byte value for every 0xFFFFFFFF field", std::to_string(len) + " bytes", kHint);
                field = r.u64(p, "zip64 extra field");
                p += 8;
            };
            next(e.size);
            next(e.compressed_size);
            next(e.local_header_offset);
            return;
        }
        pos += 4 + len;
    }
}

}  // namespace

std::vector<ZipEntry> list_zip_entries(std::span<const uint8_t> archive, const std::string& source) {
    const Reader r{archive, source};
    const uint64_t eocd = find_end_of_central_directory(r);
    uint64_t count = r.u16(eocd + 10, "end of central directory");
    uint64_t cd_size = r.u32(eocd + 12, "end of central directory");
    uint64_t cd_offset = r.u32(eocd + 16, "end of central directory");
    if ((count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) && eocd >= 20 &&
        r.u32(eocd - 20, "zip64 locator") == kZip64Locator) {
        const uint64_t z64 = r.u64(eocd - 20 + 8, "zip64 locator");
        if (r.u32(z64, "zip64 end of central directory") != kZip64EndOfCentralDirectory)
            fail(source + ": corrupt zip64 end-of-central-directory record", "signature 0x06064b50",
                 "something else at offset " + std::to_string(z64), kHint);
        count = r.u64(z64 + 32, "zip64 end of central directory");
        cd_size = r.u64(z64 + 40, "zip64 end of central directory");
        cd_offset = r.u64(z64 + 48, "zip64 end of central directory");
    }
    r.need(cd_offset, cd_size, "central directory");
    // Each record is at least 46 bytes: a count larger than that allows is corrupt, not a reason to allocate.
    if (count > cd_size / 46)
        fail(source + ": corrupt zip central directory",
             "at most " + std::to_string(cd_size / 46) + " entries", std::to_string(count) + " entries",
             kHint);
    std::vector<ZipEntry> entries;
    uint64_t pos = cd_offset;
    for (uint64_t i = 0; i < count; ++i) {
        if (r.u32(pos, "central directory") != kCentralHeader)
            fail(source + ": corrupt zip central directory (entry " + std::to_string(i) + ")",
                 "signature 0x02014b50", "something else at offset " + std::to_string(pos), kHint);
        ZipEntry e;
        e.flags = r.u16(pos + 8, "central directory");
        e.method = r.u16(pos + 10, "central directory");
        e.crc32 = r.u32(pos + 16, "central directory");
        e.compressed_size = r.u32(pos + 20, "central directory");
        e.size = r.u32(pos + 24, "central directory");
        const uint16_t name_len = r.u16(pos + 28, "central directory");
        const uint16_t extra_len = r.u16(pos + 30, "central directory");
        const uint16_t comment_len = r.u16(pos + 32, "central directory");
        e.local_header_offset = r.u32(pos + 42, "central directory");
        r.need(pos + 46, uint64_t{name_len} + extra_len + comment_len, "central directory entry");
        e.name.assign(reinterpret_cast<const char*>(archive.data() + pos + 46), name_len);
        apply_zip64_extra(r, pos + 46 + name_len, extra_len, e);
        entries.push_back(std::move(e));
        pos += 46 + name_len + extra_len + comment_len;
    }
    return entries;
}

std::vector<uint8_t> read_zip_member(std::span<const uint8_t> archive, const std::string& name,
                                     const std::string& source, uint64_t max_size) {
    const auto entries = list_zip_entries(archive, source);
    const auto it =
        std::find_if(entries.begin(), entries.end(), [&](const ZipEntry& e) { return e.name == name; });
    if (it == entries.end()) {
        std::string names;
        for (const auto& e : entries) names += (names.empty() ? "'" : ", '") + printable(e.name) + "'";
        fail(source + ": the archive has no member '" + name + "'",
             "'" + name + "' (what numpy.savez writes)", names.empty() ? "an empty archive" : names,
             "save the pose array with numpy.savez(path, poses)");
    }
    const ZipEntry& e = *it;
    if (e.flags & 1u)
        fail(source + ": member '" + name + "' is encrypted", "an unencrypted member", "encryption flag set");
    if (e.method != 0 && e.method != 8)
        fail(source + ": member '" + name + "' uses an unsupported compression method",
             "0 (stored) or 8 (deflate)", std::to_string(e.method),
             "re-save with numpy.savez or savez_compressed");
    if (e.size > max_size)
        fail(source + ": member '" + name + "' is too large",
             "at most " + std::to_string(max_size) + " bytes", std::to_string(e.size) + " bytes");
    // Deflate expands at most about 1032:1; a larger claimed size is corruption, not a reason to allocate.
    if (e.method == 8 && e.size / 1032 > e.compressed_size + 1)
        fail(source + ": member '" + name + "' claims an impossible size",
             "at most 1032 x the compressed size",
             std::to_string(e.size) + " from " + std::to_string(e.compressed_size) + " bytes", kHint);
    const Reader r{archive, source};
    if (r.u32(e.local_header_offset, "local header") != kLocalHeader)
        fail(source + ": corrupt zip local header for '" + name + "'", "signature 0x04034b50",
             "something else at offset " + std::to_string(e.local_header_offset), kHint);
    const uint64_t data_offset = e.local_header_offset + 30 +
                                 r.u16(e.local_header_offset + 26, "local header") +
                                 r.u16(e.local_header_offset + 28, "local header");
    r.need(data_offset, e.compressed_size, "member data");
    const auto compressed = archive.subspan(data_offset, e.compressed_size);

    std::vector<uint8_t> out;
    if (e.method == 0) {
        if (e.compressed_size != e.size)
            fail(source + ": stored member '" + name + "' has inconsistent sizes", "equal sizes",
                 std::to_string(e.compressed_size) + " vs " + std::to_string(e.size), kHint);
        out.assign(compressed.begin(), compressed.end());
    } else {
        out.resize(e.size);
        z_stream z{};
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(source + ": cannot initialise zlib");
        z.next_in = const_cast<Bytef*>(compressed.data());
        z.avail_in = static_cast<uInt>(std::min<uint64_t>(compressed.size(), UINT32_MAX));
        z.next_out = out.data();
        z.avail_out = static_cast<uInt>(out.size());
        const int rc = inflate(&z, Z_FINISH);
        const uint64_t produced = z.total_out;
        inflateEnd(&z);
        if (rc != Z_STREAM_END || produced != e.size)
            fail(source + ": member '" + name + "' does not inflate to its recorded size",
                 std::to_string(e.size) + " bytes from a complete deflate stream",
                 std::to_string(produced) + " bytes (zlib status " + std::to_string(rc) + ")", kHint);
    }
    const uint32_t crc = static_cast<uint32_t>(::crc32(0L, out.data(), static_cast<uInt>(out.size())));
    if (crc != e.crc32)
        fail(source + ": member '" + name + "' fails its CRC-32 check (the file is corrupt)",
             "CRC-32 " + std::to_string(e.crc32), "CRC-32 " + std::to_string(crc), kHint);
    return out;
}

namespace {

void put_le(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

std::string write_stored_zip(const std::vector<std::pair<std::string, std::string>>& members) {
    constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, time 00:00:00
    std::string out, directory;
    for (const auto& [name, data] : members) {
        if (data.size() >= 0xFFFFFFFFu || name.size() > 0xFFFF)
            fail("zip writer: member '" + name + "' is too large", "less than 4 GiB",
                 std::to_string(data.size()));
        const uint32_t crc = static_cast<uint32_t>(
            ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
        const uint64_t offset = out.size();
        put_le(out, kLocalHeader, 4);
        put_le(out, 20, 2);  // version needed: 2.0
        put_le(out, 0, 2);   // flags
        put_le(out, 0, 2);   // stored
        put_le(out, 0, 2);   // time
        put_le(out, kDosDate, 2);
        put_le(out, crc, 4);
        put_le(out, data.size(), 4);
        put_le(out, data.size(), 4);
        put_le(out, name.size(), 2);
        put_le(out, 0, 2);
        out += name;
        out += data;

        put_le(directory, kCentralHeader, 4);
        put_le(directory, 20, 2);  // made by: 2.0
        put_le(directory, 20, 2);
        put_le(directory, 0, 2);
        put_le(directory, 0, 2);
        put_le(directory, 0, 2);
        put_le(directory, kDosDate, 2);
        put_le(directory, crc, 4);
        put_le(directory, data.size(), 4);
        put_le(directory, data.size(), 4);
        put_le(directory, name.size(), 2);
        put_le(directory, 0, 2);              // extra
        put_le(directory, 0, 2);              // comment
        put_le(directory, 0, 2);              // disk
        put_le(directory, 0, 2);              // internal attributes
        put_le(directory, 0x81A4u << 16, 4);  // external: regular file, mode 0644
        put_le(directory, offset, 4);
        directory += name;
    }
    const uint64_t cd_offset = out.size();
    out += directory;
    put_le(out, kEndOfCentralDirectory, 4);
    put_le(out, 0, 2);
    put_le(out, 0, 2);
    put_le(out, members.size(), 2);
    put_le(out, members.size(), 2);
    put_le(out, directory.size(), 4);
    put_le(out, cd_offset, 4);
    put_le(out, 0, 2);
    return out;
}

}  // namespace stablepose
