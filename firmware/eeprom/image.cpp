// SPDX-License-Identifier: Apache-2.0
#include "firmware/eeprom/image.hpp"

#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <charconv>

namespace uhs::eeprom {

using util::Errc;
using util::fail;

namespace {

constexpr std::size_t k_read_only_size = 64 * 1024;  // boot code + updatetime (AB images)
constexpr std::size_t k_partition_size = 988 * 1024; // partition A: [64 KiB, 64 KiB + 988 KiB)
constexpr std::size_t k_reserved_tail = 4096;        // the bootloader's own last 4 KiB
constexpr std::size_t k_named_header = 24;           // magic, length, name[12], reserved
constexpr std::size_t k_unparsed_tail = 8 * 1024;    // reserved 4 KiB; 2712: two journals

std::uint32_t be32(const std::string& b, std::size_t at) {
    return (std::uint32_t{static_cast<unsigned char>(b[at])} << 24) |
           (std::uint32_t{static_cast<unsigned char>(b[at + 1])} << 16) |
           (std::uint32_t{static_cast<unsigned char>(b[at + 2])} << 8) |
           std::uint32_t{static_cast<unsigned char>(b[at + 3])};
}

void put_be32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
    }
}

void put_le32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        b[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
}

std::string hex32(std::uint32_t v) {
    char text[12];
    std::snprintf(text, sizeof text, "0x%08X", v);
    return text;
}

std::string hex_offset(std::size_t v) {
    char text[20];
    std::snprintf(text, sizeof text, "0x%06zx", v);
    return text;
}

} // namespace

bool Section::is_named_file() const {
    return magic != k_boot_code_magic && magic != k_pad_magic && !name.empty();
}

bool Section::is_padding() const {
    return magic == k_pad_magic;
}

util::Result<Image> Image::parse(std::string bytes) {
    if (bytes.size() != k_2711_size && bytes.size() != k_2712_size) {
        return fail(Errc::invalid_input,
                    "not a bootloader EEPROM image: ", std::to_string(bytes.size()),
                    " bytes (expected 524288 for BCM2711 or 2097152 for BCM2712)");
    }
    Image image(std::move(bytes));
    UHS_CHECK(image.reparse());
    return image;
}

util::Status Image::reparse() {
    m_sections.clear();
    const std::size_t size = m_bytes.size();
    std::size_t offset = 0;
    while (offset + 8 <= size) {
        const std::uint32_t magic = be32(m_bytes, offset);
        if (magic == 0x00000000 || magic == 0xFFFFFFFF) {
            break; // end of the chain
        }
        if ((magic & 0xFFFFF00F) != 0x55AAF00F) {
            return fail(Errc::invalid_input, "corrupt EEPROM image: bad section magic ",
                        hex32(magic), " at offset ", hex_offset(offset));
        }
        const std::uint32_t length = be32(m_bytes, offset + 4);
        if (length > size - offset - 8) {
            return fail(Errc::invalid_input, "corrupt EEPROM image: section at ",
                        hex_offset(offset), " claims ", std::to_string(length),
                        " bytes, past the end of the image");
        }
        Section section{offset, magic, length, ""};
        if (magic != k_boot_code_magic && magic != k_pad_magic) {
            if (length < 16) {
                return fail(Errc::invalid_input, "corrupt EEPROM image: named section at ",
                            hex_offset(offset), " is shorter than its header");
            }
            const std::string raw = m_bytes.substr(offset + 8, 12);
            section.name = raw.substr(0, raw.find('\0'));
        }
        m_sections.push_back(section);
        offset = (offset + 8 + length + 7) & ~std::size_t{7};
    }
    if (m_sections.empty() || m_sections.front().magic != k_boot_code_magic) {
        return fail(Errc::invalid_input, "corrupt EEPROM image: no boot code at offset 0");
    }
    // The script stops at the first erased word as well, so a length that lands inside a
    // PAD's 0xFF payload would silently drop every later section (bootconf.txt among them).
    // Past the real end of a chain there is only erased flash up to the last 8 KiB (reserved
    // tail, AB journals), so a section header there means the chain broke before it.
    for (std::size_t at = offset; at + k_unparsed_tail < size; at += 8) {
        if ((be32(m_bytes, at) & 0xFFFFF00F) == 0x55AAF00F) {
            return fail(Errc::invalid_input, "corrupt EEPROM image: the section chain ends at ",
                        hex_offset(offset), " but a section header follows at ", hex_offset(at));
        }
    }
    return {};
}

util::Result<std::string> Image::extract(std::string_view name) const {
    for (const Section& s : m_sections) {
        if (name == "bootcode.bin" && s.magic == k_boot_code_magic) {
            return m_bytes.substr(s.offset + 8, s.length);
        }
        if (s.is_named_file() && s.name == name) {
            return m_bytes.substr(s.offset + k_named_header, s.length - 16);
        }
    }
    return fail(Errc::not_found, "no file '", std::string(name), "' in the EEPROM image");
}

util::Status Image::replace_file(std::string_view name, std::string_view payload) {
    if (payload.size() > k_max_file_size) {
        return fail(Errc::invalid_input, std::string(name),
                    " is too large: ", std::to_string(payload.size()), " bytes (at most ",
                    std::to_string(k_max_file_size), ")");
    }
    const std::size_t size = m_bytes.size();
    const std::size_t partition_end = k_read_only_size + k_partition_size;
    std::size_t index = m_sections.size();
    for (std::size_t i = 0; i < m_sections.size(); ++i) {
        const Section& s = m_sections[i];
        if (s.magic == k_file_magic && s.name == name && s.offset >= k_read_only_size &&
            s.offset < partition_end) {
            index = i;
            break;
        }
    }
    if (index == m_sections.size()) {
        return fail(Errc::not_found, "update target ", std::string(name),
                    " not found in the EEPROM image");
    }
    const std::size_t header = m_sections[index].offset;
    std::size_t next_offset = std::min(size - k_reserved_tail, partition_end);
    bool next_is_section = false;
    for (std::size_t i = index + 1; i < m_sections.size(); ++i) {
        if (!m_sections[i].is_padding()) {
            next_offset = m_sections[i].offset;
            next_is_section = true;
            break;
        }
    }
    const bool is_last = index + 1 == m_sections.size();
    const std::size_t end = header + payload.size() + 20;
    // The script checks hdr + len + 20 although the payload starts at hdr + 24: a payload that
    // passes by up to 4 bytes would overwrite the next section's header, which it then
    // silently corrupts. Refuse that here; everything that fits is written as the script does.
    if (end > size - k_reserved_tail || end > next_offset ||
        (next_is_section && end + 4 > next_offset)) {
        return fail(Errc::invalid_input, std::string(name), " (", std::to_string(payload.size()),
                    " bytes) does not fit before the next section at ", hex_offset(next_offset));
    }
    // Edit a copy: if the result does not parse, the image is left as it was.
    std::string bytes = m_bytes;
    put_be32(bytes, header + 4, static_cast<std::uint32_t>(payload.size() + 16));
    std::copy(payload.begin(), payload.end(), bytes.begin() + static_cast<long>(header + 24));
    std::size_t pad_start = header + 24 + payload.size();
    while (pad_start % 8 != 0) {
        bytes[pad_start++] = '\xff';
    }
    // pad_start can pass next_offset by a few bytes when the limit is the end of partition A
    // or the reserved tail; the script then writes no padding at all (a negative count).
    if (pad_start < next_offset) {
        const std::size_t pad_bytes = next_offset - pad_start;
        std::size_t fill_from = pad_start;
        if (pad_bytes >= 8 && !is_last) {
            put_be32(bytes, pad_start, k_pad_magic);
            put_be32(bytes, pad_start + 4, static_cast<std::uint32_t>(pad_bytes - 8));
            fill_from = pad_start + 8;
        }
        std::fill(bytes.begin() + static_cast<long>(fill_from),
                  bytes.begin() + static_cast<long>(next_offset), '\xff');
    }
    Image edited(std::move(bytes));
    if (auto parsed = edited.reparse(); !parsed) {
        return fail(Errc::invalid_input, "replacing ", std::string(name),
                    " would leave a broken section chain: ", parsed.error().message);
    }
    *this = std::move(edited);
    return {};
}

util::Status Image::set_timestamp(std::uint32_t epoch) {
    std::vector<std::size_t> payloads;
    for (const Section& s : m_sections) {
        if (s.is_named_file() && s.name == "updatetime") {
            // ~ts and ts take 8 bytes; a shorter payload would be written past its section
            // (or past the image when the section is last).
            if (s.length < 16 + 8) {
                return fail(Errc::invalid_input, "corrupt EEPROM image: updatetime at ",
                            hex_offset(s.offset), " holds ", std::to_string(s.length - 16),
                            " bytes, not 8");
            }
            payloads.push_back(s.offset + k_named_header);
        }
    }
    const bool in_read_only = !payloads.empty() && payloads.front() < k_read_only_size;
    if (!in_read_only) {
        // Older images: the last 8 bytes of the image.
        put_le32(m_bytes, m_bytes.size() - 8, ~epoch);
        put_le32(m_bytes, m_bytes.size() - 4, epoch);
        return {};
    }
    const auto in_partition = std::find_if(payloads.begin() + 1, payloads.end(), [](std::size_t p) {
        return p >= k_read_only_size && p < k_read_only_size + k_partition_size;
    });
    if (in_partition == payloads.end()) {
        return fail(Errc::invalid_input,
                    "the EEPROM image has no updatetime in partition A to stamp");
    }
    for (std::size_t at : {payloads.front(), *in_partition}) {
        put_le32(m_bytes, at, ~epoch);
        put_le32(m_bytes, at + 4, epoch);
    }
    return {};
}

namespace {

std::uint32_t le32(const std::string& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

} // namespace

BuildInfo build_info(std::string_view bytes) {
    BuildInfo info;
    constexpr std::string_view k_ts = "BUILD_TIMESTAMP=";
    if (const auto at = bytes.find(k_ts); at != std::string_view::npos) {
        std::uint32_t value = 0;
        const char* begin = bytes.data() + at + k_ts.size();
        const char* end = bytes.data() + bytes.size();
        auto [ptr, ec] = std::from_chars(begin, end, value);
        if (ec == std::errc() && ptr != begin) {
            info.timestamp = value;
        }
    }
    constexpr std::string_view k_version = "VERSION:";
    if (const auto at = bytes.find(k_version); at != std::string_view::npos) {
        std::string hash;
        for (std::size_t i = at + k_version.size(); i < bytes.size() && hash.size() < 40; ++i) {
            const char c = bytes[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                break;
            }
            hash.push_back(c);
        }
        if (hash.size() >= 7) {
            info.version = hash;
        }
    }
    return info;
}

std::optional<std::uint32_t> update_timestamp(const Image& image) {
    const std::string& b = image.bytes();
    std::size_t at = b.size() - 8; // older images: ~ts, ts at the end
    for (const Section& s : image.sections()) {
        if (s.is_named_file() && s.name == "updatetime" && s.length >= 16 + 8) {
            at = s.offset + k_named_header;
            break; // the read-only copy comes first; set_timestamp keeps both equal
        }
    }
    const std::uint32_t inverse = le32(b, at);
    const std::uint32_t ts = le32(b, at + 4);
    if (ts == 0xFFFFFFFF || inverse != ~ts) {
        return std::nullopt;
    }
    return ts;
}

util::Result<Sig> parse_sig(std::string_view text) {
    Sig sig;
    const auto lines = util::split(text, '\n');
    const std::string_view first = lines.empty() ? std::string_view() : util::trim(lines.front());
    if (first.size() != 64 || !util::is_hex(first)) {
        return fail(Errc::invalid_input, "not a .sig file: the first line is not a sha256");
    }
    sig.sha256 = util::to_lower(std::string(first));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string_view line = util::trim(lines[i]);
        if (!line.starts_with("ts:")) {
            continue;
        }
        const std::string_view value = util::trim(line.substr(3));
        std::int64_t ts = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ts);
        if (ec != std::errc() || ptr != value.data() + value.size() || ts < 0) {
            return fail(Errc::invalid_input, "not a .sig file: bad ts: line '", std::string(line),
                        "'");
        }
        sig.ts = ts;
    }
    return sig;
}

std::string make_sig(std::string_view image_bytes, std::int64_t epoch, std::optional<int> soc) {
    std::string text = util::sha256_hex(image_bytes) + "\n";
    text += "ts: " + std::to_string(epoch) + "\n";
    if (soc) {
        text += "target-soc: " + std::to_string(*soc) + "\n";
    }
    return text;
}

} // namespace uhs::eeprom
