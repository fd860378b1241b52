// The only file that includes <linux/tcp.h>: its struct tcp_info clashes by name
// with glibc's shorter one, which Swift sees through <netinet/tcp.h>.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include "SockscopeKernel.h"

static void copy_fields(const struct tcp_info *info, uint32_t filled, struct sockscope_tcp_info *out) {
    memset(out, 0, sizeof *out);
    out->state = info->tcpi_state;
    out->retransmits = info->tcpi_retransmits;
    out->rtt_us = info->tcpi_rtt;
    out->rttvar_us = info->tcpi_rttvar;
    out->snd_cwnd = info->tcpi_snd_cwnd;
    out->unacked = info->tcpi_unacked;
    out->sacked = info->tcpi_sacked;
    out->lost = info->tcpi_lost;
    out->total_retrans = info->tcpi_total_retrans;
    out->snd_mss = info->tcpi_snd_mss;
    out->notsent_bytes = info->tcpi_notsent_bytes;
    out->bytes_acked = info->tcpi_bytes_acked;
    out->bytes_received = info->tcpi_bytes_received;
    out->bytes_sent = info->tcpi_bytes_sent;
    out->filled = filled;
}

int sockscope_tcp_info_read(int fd, struct sockscope_tcp_info *out) {
    struct tcp_info info;
    memset(&info, 0, sizeof info);
    socklen_t length = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    copy_fields(&info, (uint32_t)length, out);
    return 0;
}

void sockscope_tcp_info_decode(const void *raw, size_t length, struct sockscope_tcp_info *out) {
    struct tcp_info info;
    memset(&info, 0, sizeof info);
    size_t used = length < sizeof info ? length : sizeof info;
    memcpy(&info, raw, used);
    copy_fields(&info, (uint32_t)used, out);
}

int sockscope_watch_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int sockscope_watch_add(int watch_fd, int fd, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | EPOLLET;
    event.data.u64 = token;
    return epoll_ctl(watch_fd, EPOLL_CTL_ADD, fd, &event);
}

int sockscope_watch_wait(int watch_fd, uint64_t *tokens, int capacity) {
    struct epoll_event events[16];
    if (capacity > 16) capacity = 16;
    for (;;) {
        int count = epoll_wait(watch_fd, events, capacity, -1);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) return -1;
        for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
        return count;
    }
}

int sockscope_ready_watch(int set_fd, int fd, int readable, int modify, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = readable ? (EPOLLIN | EPOLLRDHUP) : EPOLLOUT;
    event.data.u64 = token;
    return epoll_ctl(set_fd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
}

int sockscope_ready_wait(int set_fd, uint64_t *tokens, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(set_fd, events, capacity, timeout_ms);
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
    return count;
}

long sockscope_descriptor_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    return limit.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)limit.rlim_cur;
}

int sockscope_descriptors_in_use(void) {
    DIR *directory = opendir("/proc/self/fd");
    if (directory == NULL) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (entry->d_name[0] != '.') count++;
    }
    closedir(directory);
    return count - 1;  // the directory's own descriptor
}
