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

/// A level-triggered epoll set for the port scanner: each socket is watched for writability
/// (a non-blocking connect's outcome) or, with `readable`, for readability (a banner).
/// `modify`: the fd is in the set already (EPOLL_CTL_MOD). Returns 0, or -1 with errno set.
int sockscope_ready_watch(int set_fd, int fd, int readable, int modify, uint64_t token);
/// Waits up to `timeout_ms` (-1: no limit, 0: just look) and fills up to `capacity` tokens.
/// Returns how many (0 on timeout or EINTR), or -1 with errno set.
int sockscope_ready_wait(int set_fd, uint64_t *tokens, int capacity, int timeout_ms);

/// RLIMIT_NOFILE's soft limit: the descriptors this process may have open (-1 if unknown).
long sockscope_descriptor_limit(void);
/// The descriptors this process has open now (the entries of /proc/self/fd), or -1.
int sockscope_descriptors_in_use(void);

/// One TCP socket as the kernel's socket table holds it, looked up by its
/// addresses through netlink sock_diag (what `ss` shows, for one socket).
struct sockscope_tcp_diag {
    uint8_t found;              // 0: the kernel holds no such socket (closed and gone, or never there)
    uint8_t state;              // TCP state number (1 ESTABLISHED ... 10 LISTEN); TIME-WAIT sockets report their substate
    uint8_t timer;              // 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 zero-window probe
    uint8_t retransmits;
    uint32_t expires_ms;        // until the timer fires
    uint32_t receive_queue;     // bytes not yet read; on a listener: connections in the accept queue
    uint32_t send_queue;        // bytes not yet acknowledged; on a listener: the backlog
};

/// Opens a sock_diag netlink socket (close-on-exec, with a short receive timeout so
/// a lookup never waits long). Close it with close(). Returns the fd, or -1 with errno set.
int sockscope_tcp_diag_open(void);

/// Asks the kernel for exactly one TCP socket (a hash lookup, no table walk): the one
/// with this local and remote address, including TIME-WAIT and FIN-WAIT-2 remnants.
/// `family` is AF_INET or AF_INET6; addresses are 4 or 16 bytes in network order,
/// ports in host order. `remote_address` NULL (and `remote_port` 0) asks for a listener.
/// Returns 0 with `out` filled (`found` 0 if there is no such socket), or an errno value.
int sockscope_tcp_diag_lookup(int diag_fd, int family,
                              const uint8_t *local_address, uint16_t local_port,
                              const uint8_t *remote_address, uint16_t remote_port,
                              struct sockscope_tcp_diag *out);

#endif
