// The zip container of numpy's .npz files: read one member (stored or deflate, zip64 records, CRC checked)
// and write a stored archive. Reference: PKWARE APPNOTE 6.3 (the subset Python's zipfile writes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace stablepose {

struct ZipEntry {
    std::string name;
    uint16_t method = 0;  // 0 stored, 8 deflate
    uint16_t flags = 0;
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint64_t local_header_offset = 0;
};

// The central directory of `archive`. Throws Error naming `source` for anything that is not a well-formed
// zip (truncated, bad signatures, offsets outside the file).
std::vector<ZipEntry> list_zip_entries(std::span<const uint8_t> archive, const std::string& source);

// The uncompressed bytes of member `name`. Refuses encrypted members, methods other than stored and deflate,
// members larger than `max_size`, and data whose CRC-32 or size differs from the directory's.
std::vector<uint8_t> read_zip_member(std::span<const uint8_t> archive, const std::string& name,
                                     const std::string& source, uint64_t max_size = uint64_t{1} << 30);

// A stored (uncompressed) archive of the given members, with a fixed timestamp (1980-01-01) so that equal
// contents give equal bytes. numpy's np.load and Python's zipfile read it.
std::string write_stored_zip(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace stablepose
