// SIGINT/SIGTERM handling for training: the first signal asks the loop to finish the current
// step, save a checkpoint and exit; a second one terminates at once.
#pragma once

namespace vg {

// Installs the handlers (idempotent); the previous handlers are restored by uninstall.
void install_stop_handlers();
void uninstall_stop_handlers();
bool stop_requested();
int stop_signal();           // the signal number received, 0 if none
void request_stop(int sig);  // what the handler does; tests call it directly
void clear_stop();

}  // namespace vg
