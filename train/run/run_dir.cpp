// Run-directory preparation and stale temporary cleanup.
#include "train/run/run_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace vg {
namespace fs = std::filesystem;

void prepare_run_dir(const std::string& dir) {
    const char* op = "output_dir";
    if (dir.empty()) fail(op, "the output directory is empty (give --output-dir DIR)");
    std::error_code ec;
    fs::file_status st = fs::status(dir, ec);
    if (st.type() == fs::file_type::not_found) {
        fs::create_directories(dir, ec);
        if (ec) fail(op, "cannot create {} ({})", dir, ec.message());
    } else if (ec) {
        fail(op, "cannot examine {} ({})", dir, ec.message());
    } else if (st.type() != fs::file_type::directory) {
        fail(op, "{} exists and is not a directory", dir);
    }
    std::string probe =
        (fs::path(dir) / fmt::format(".vitgrad-write-test.{}", ::getpid())).string();
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail(op, "cannot write into {} ({})", dir, std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
}

namespace {

// The pid of a "<name>.tmp.<pid>" file name, or 0.
long temp_owner(const std::string& name) {
    size_t dot = name.rfind(".tmp.");
    if (dot == std::string::npos || dot == 0) return 0;
    const char* first = name.data() + dot + 5;
    const char* last = name.data() + name.size();
    long pid = 0;
    auto [end, ec] = std::from_chars(first, last, pid);
    return ec == std::errc() && end == last && pid > 0 ? pid : 0;
}

bool process_alive(long pid) { return ::kill(pid_t(pid), 0) == 0 || errno == EPERM; }

}  // namespace

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        std::error_code fec;
        if (!e.is_regular_file(fec)) continue;
        long pid = temp_owner(e.path().filename().string());
        if (pid == 0 || (pid != ::getpid() && process_alive(pid))) continue;
        if (fs::remove(e.path(), fec)) removed.push_back(e.path().string());
    }
    return removed;
}

}  // namespace vg
