// The run directory (--output-dir): created and checked before any work starts, so that a path
// that is a file, empty, read-only or impossible to create is one clear error instead of an
// uncaught std::filesystem_error after the data has been loaded; and cleared of the temporaries
// that a killed checkpoint writer left behind.
#pragma once
#include <string>
#include <vector>

namespace vg {

// Creates `dir` and its parents when missing and proves it writable by creating and removing a
// probe file. Throws vg::Error("output_dir: <dir> <reason>") otherwise.
void prepare_run_dir(const std::string& dir);

// Removes files named "<name>.tmp.<pid>" (what save_safetensors writes before its rename) whose
// process no longer runs, or is this one; returns the paths removed. A writer that is still alive
// (another process training into the same directory) keeps its file.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace vg
