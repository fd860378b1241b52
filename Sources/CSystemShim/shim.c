#define _GNU_SOURCE
#include "CSystemShim.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <pthread.h>

extern char **environ;

static volatile sig_atomic_t signal_fd = -1;
static volatile sig_atomic_t last_signal = 0;

int sockscope_make_wake_fd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

// Async-signal-safe: one write to an eventfd, errno kept for the interrupted code.
static void wake_from_handler(int fd) {
    if (fd < 0) return;
    int saved = errno;
    unsigned long long one = 1;
    ssize_t ignored = write(fd, &one, sizeof one);
    (void)ignored;
    errno = saved;
}

// A plain handler with no flags and nothing masked; the handler it replaces goes to `previous`.
static int install_handler(int sig, void (*handler)(int), struct sigaction *previous) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, previous);
}

static void route(int sig) {
    last_signal = sig;
    wake_from_handler(signal_fd);
}

int sockscope_route_signals(int fd) {
    signal_fd = fd;
    if (install_handler(SIGINT, route, NULL) != 0) return -1;
    if (install_handler(SIGTERM, route, NULL) != 0) return -1;
    if (install_handler(SIGHUP, route, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int sockscope_last_signal(void) { return last_signal; }

static volatile sig_atomic_t resize_fd = -1;
static struct sigaction resize_previous;

// SIGWINCH goes to whichever thread does not block it (often an engine thread), and a
// main thread busy rendering misses the EINTR anyway: a resize must be readable on an
// fd like every other input. ncurses' own handler still runs first (it marks the
// resize that getch() reports as KEY_RESIZE).
static void route_resize(int sig) {
    int saved = errno;
    if (resize_previous.sa_flags & SA_SIGINFO) {
        if (resize_previous.sa_sigaction) resize_previous.sa_sigaction(sig, NULL, NULL);
    } else if (resize_previous.sa_handler != SIG_DFL && resize_previous.sa_handler != SIG_IGN) {
        resize_previous.sa_handler(sig);
    }
    errno = saved;
    wake_from_handler(resize_fd);
}

int sockscope_route_resizes(int fd) {
    resize_fd = fd;
    return install_handler(SIGWINCH, route_resize, &resize_previous);
}

void sockscope_clear_signal_mask(void) {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
}

pid_t sockscope_spawn(const char *path, char *const argv[], const char *output_path) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (output_path) {
        posix_spawn_file_actions_addopen(&actions, 1, output_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    /* SwiftNIO's sockets are not close-on-exec: without this a child would inherit them and
       keep a listener listening, or a connection open, after the parent closed it. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, path, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}
