#ifndef CSYSTEM_SHIM_H
#define CSYSTEM_SHIM_H

#include <sys/types.h>
#include <signal.h>
#include "SockscopeKernel.h"

/// Makes a non-blocking, close-on-exec eventfd used to wake a poll() loop.
/// Returns -1 with errno set on failure.
int sockscope_make_wake_fd(void);

/// Routes SIGINT, SIGTERM and SIGHUP to `fd`: the handler writes the signal
/// number as one byte (async-signal-safe) and the poll loop reads it.
/// SIGPIPE is ignored so a write to a closed peer is an EPIPE error, not death.
int sockscope_route_signals(int fd);
/// SIGWINCH also wakes `fd` (after ncurses' handler, if any, ran): call after the terminal is set up.
int sockscope_route_resizes(int fd);

/// Unblocks every signal on the calling thread. Children started by a test
/// runner (and threads created later) inherit a mask; start from a clean one.
void sockscope_clear_signal_mask(void);

/// posix_spawn with an empty signal mask and default handlers, stdout and
/// stderr to `output_path` (never a pipe: tmux daemons inherit pipes), and
/// every descriptor above 2 closed in the child.
/// Returns the child's pid or -1.
pid_t sockscope_spawn(const char *path, char *const argv[], const char *output_path);

/// The signal number that most recently fired, or 0.
int sockscope_last_signal(void);

#endif
