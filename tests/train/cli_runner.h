// Runs the `vitgrad` executable (built next to the tests) as a user would, capturing its exit
// code and output, for the tests that check what a careless command line ends in.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace vg::test {

struct CliResult {
    int code = -1;    // exit status, or 128 + signal when killed by one
    std::string out;  // stdout
    std::string err;  // stderr

    // Exactly one line on stderr, starting with "error: ", and a non-zero exit status.
    bool one_error_line() const {
        return code > 0 && code < 128 && err.rfind("error: ", 0) == 0 &&
               err.find('\n') == err.size() - 1;
    }
};

// `args` is appended to the executable's path as shell text (quote paths with spaces yourself);
// stdin is /dev/null. `env` is prefixed to the command ("VITGRAD_DATA=/x ").
inline CliResult run_cli(const std::string& args, const std::string& env = "") {
    namespace fs = std::filesystem;
    static int counter = 0;
    fs::path base = fs::temp_directory_path() / fmt::format("vg_cli_{}_{}", ::getpid(), counter++);
    std::string out = base.string() + ".out", err = base.string() + ".err";
    std::string cmd =
        fmt::format("{}'{}' {} </dev/null >'{}' 2>'{}'", env, VG_CLI_PATH, args, out, err);
    int status = std::system(cmd.c_str());
    CliResult r;
    if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.code = 128 + WTERMSIG(status);
    auto slurp = [](const std::string& p) {
        std::ifstream f(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    r.out = slurp(out);
    r.err = slurp(err);
    fs::remove(out);
    fs::remove(err);
    return r;
}

}  // namespace vg::test
