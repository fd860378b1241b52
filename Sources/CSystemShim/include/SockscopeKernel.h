#ifndef SOCKSCOPE_KERNEL_H
#define SOCKSCOPE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/// The fields of the kernel's `struct tcp_info` (<linux/tcp.h>) that sockscope
/// shows, copied into a flat struct: glibc's <netinet/tcp.h> declares a shorter
/// `tcp_info` under the same name, so only kernel.c may see the kernel's.
/// Fields the running kernel did not fill are 0.
struct sockscope_tcp_info {
    uint8_t state;              // TCP state number, as in /proc/net/tcp (1 ESTABLISHED ... 10 LISTEN)
    uint8_t retransmits;        // retransmissions of the current segment in flight
    uint32_t rtt_us;            // smoothed round-trip time
    uint32_t rttvar_us;
    uint32_t snd_cwnd;          // congestion window, in segments
    uint32_t unacked;           // segments sent, not yet acknowledged; on a listener: accept queue length
    uint32_t sacked;            // on a listener: the backlog (the accept queue's capacity)
    uint32_t lost;
    uint32_t total_retrans;     // retransmitted segments over the connection's life
    uint32_t snd_mss;
    uint32_t notsent_bytes;     // written by the program, not yet sent
    uint64_t bytes_acked;       // bytes the peer acknowledged
    uint64_t bytes_received;    // bytes received in order
    uint64_t bytes_sent;
    uint32_t filled;            // how many bytes of the kernel's struct were filled
};

/// Room for the kernel's `struct tcp_info` as `getsockopt` fills it (232 bytes on 6.x kernels).
struct sockscope_tcp_info_buffer {
    unsigned char bytes[320];
};

/// getsockopt(fd, IPPROTO_TCP, TCP_INFO) decoded into `out`. Returns 0, or -1 with errno set.
int sockscope_tcp_info_read(int fd, struct sockscope_tcp_info *out);

/// Decodes a TCP_INFO buffer obtained another way (from a channel's socket options).
void sockscope_tcp_info_decode(const void *raw, size_t length, struct sockscope_tcp_info *out);

/// An edge-triggered epoll set used to learn, without polling, that a client
/// arrived in a listener's accept queue. Returns the epoll fd or -1.
int sockscope_watch_create(void);
/// Watches `fd` for readability (EPOLLIN | EPOLLET); `token` comes back from wait.
int sockscope_watch_add(int watch_fd, int fd, uint64_t token);
/// Blocks until something is ready (retrying EINTR); fills up to `capacity` tokens and returns how many, or -1.
int sockscope_watch_wait(int watch_fd, uint64_t *tokens, int capacity);

#endif
