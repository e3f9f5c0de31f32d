// File checks shared by every reader of user-named files.
#include "train/data/readable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace vg {
namespace fs = std::filesystem;

std::string unreadable_reason(const fs::path& path) {
    if (path.empty()) return "is an empty path";
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) return "not found";
    if (ec) return fmt::format("cannot be examined ({})", ec.message());
    if (st.type() == fs::file_type::directory) return "is a directory, not a file";
    if (st.type() != fs::file_type::regular)
        return "is not a regular file (a FIFO, socket or device)";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fmt::format("cannot be opened ({})", std::strerror(errno));
    ::close(fd);
    return "";
}

void require_readable_file(const char* op, const fs::path& path, const std::string& hint,
                           uint64_t max_bytes) {
    std::string why = unreadable_reason(path);
    if (!why.empty()) fail(op, "{} {}{}{}", path.string(), why, hint.empty() ? "" : ". ", hint);
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) fail(op, "cannot stat {} ({})", path.string(), ec.message());
    if (size > max_bytes)
        fail(op, "{} has {} bytes, more than the {} this reader accepts{}{}", path.string(), size,
             max_bytes, hint.empty() ? "" : ". ", hint);
}

std::string read_file_bounded(const char* op, const fs::path& path, uint64_t max_bytes,
                              const std::string& hint) {
    require_readable_file(op, path, hint, max_bytes);
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    std::string bytes(size_t(size), '\0');
    std::ifstream in(path, std::ios::binary);
    if (!in || !in.read(bytes.data(), std::streamsize(bytes.size())))
        fail(op, "reading {} failed ({}){}{}", path.string(), std::strerror(errno),
             hint.empty() ? "" : ". ", hint);
    return bytes;
}

}  // namespace vg
