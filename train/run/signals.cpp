// Async-signal-safe stop flag: the handler only stores to a lock-free atomic.
#include "train/run/signals.h"

#include <atomic>
#include <csignal>

namespace vg {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;
bool g_installed = false;

void on_signal(int sig) {
    if (g_signal.load() != 0) {
        // Second signal: the user insists; fall back to the default action.
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    g_signal.store(sig);
}

}  // namespace

void install_stop_handlers() {
    if (g_installed) return;
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_installed = true;
}

void uninstall_stop_handlers() {
    if (!g_installed) return;
    sigaction(SIGINT, &g_old_int, nullptr);
    sigaction(SIGTERM, &g_old_term, nullptr);
    g_installed = false;
}

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }
void request_stop(int sig) { g_signal.store(sig); }
void clear_stop() { g_signal.store(0); }

}  // namespace vg
