// Why a file cannot be read, in words a user can act on ("is a directory", "permission denied"),
// and bounded whole-file reads. Every reader of user-named files (datasets, checkpoints, config
// files, inspect inputs) checks through here first, so a directory, a FIFO (which would block
// forever) or an unreadable file is one clear error instead of "0 bytes" or a hang.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace vg {

// "" when `path` is a regular file this process may open for reading; otherwise the reason:
// "not found", "is a directory", "is not a regular file (a FIFO, socket or device)",
// "cannot be opened (Permission denied)", ...
std::string unreadable_reason(const std::filesystem::path& path);

// Throws vg::Error("<op>: <path> <reason>. <hint>") unless the file is readable and at most
// `max_bytes` long.
void require_readable_file(const char* op, const std::filesystem::path& path,
                           const std::string& hint = "", uint64_t max_bytes = UINT64_MAX);

// The whole file, after require_readable_file and a size check against `max_bytes`.
std::string read_file_bounded(const char* op, const std::filesystem::path& path, uint64_t max_bytes,
                              const std::string& hint = "");

}  // namespace vg
