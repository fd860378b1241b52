// Exact lookups of single TCP sockets through netlink sock_diag, as `ss` does for a
// whole table but by address: the kernel answers from its hash tables
// (inet_diag_find_one_icsk), so the cost does not grow with the machine's sockets
// the way parsing /proc/net/tcp does.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "SockscopeKernel.h"

// The kernel handles the request inside sendto() and queues its answer before sendto()
// returns, so recv() normally finds it waiting. The timeout only bounds how long an
// event loop could wait on a kernel that does not answer.
static const long receive_timeout_us = 10000;

// Answers to an earlier lookup that timed out may still arrive: receive at most this many
// datagrams (or signal interruptions) before giving up, so a lookup stays bounded.
static const int receive_attempts = 4;

static uint32_t last_sequence;

int sockscope_tcp_diag_open(void) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct timeval timeout = { .tv_sec = 0, .tv_usec = receive_timeout_us };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// Any address as 16 bytes, IPv4 as IPv4-mapped IPv6: an IPv6 socket talking to an IPv4
// peer may be reported in either form.
static void as_ipv6(int family, const void *address, uint8_t out[16]) {
    if (family == AF_INET6) {
        memcpy(out, address, 16);
    } else {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, address, 4);
    }
}

static int same_address(int family_a, const void *a, int family_b, const void *b) {
    uint8_t left[16], right[16];
    as_ipv6(family_a, a, left);
    as_ipv6(family_b, b, right);
    return memcmp(left, right, 16) == 0;
}

// The lookup falls back to a listener on the local port when no connection matches
// (it is the kernel's packet-delivery lookup), and a listener on [::] answers for
// 0.0.0.0: only an answer with the very addresses asked for is our socket.
static int is_requested_socket(const struct inet_diag_msg *reply, const struct inet_diag_req_v2 *request) {
    return reply->id.idiag_sport == request->id.idiag_sport
        && reply->id.idiag_dport == request->id.idiag_dport
        && same_address(reply->idiag_family, reply->id.idiag_src, request->sdiag_family, request->id.idiag_src)
        && same_address(reply->idiag_family, reply->id.idiag_dst, request->sdiag_family, request->id.idiag_dst);
}

int sockscope_tcp_diag_lookup(int diag_fd, int family,
                              const uint8_t *local_address, uint16_t local_port,
                              const uint8_t *remote_address, uint16_t remote_port,
                              struct sockscope_tcp_diag *out) {
    memset(out, 0, sizeof *out);
    size_t address_length = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
    if (address_length == 0) return EAFNOSUPPORT;
    if (local_address == NULL) return EINVAL;

    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    uint32_t sequence = __atomic_add_fetch(&last_sequence, 1, __ATOMIC_RELAXED);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    // No NLM_F_DUMP: one socket by exact lookup, not a walk of the table.
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.header.nlmsg_seq = sequence;
    message.request.sdiag_family = (uint8_t)family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0u;
    message.request.id.idiag_sport = htons(local_port);
    message.request.id.idiag_dport = htons(remote_port);
    memcpy(message.request.id.idiag_src, local_address, address_length);
    if (remote_address != NULL) memcpy(message.request.id.idiag_dst, remote_address, address_length);
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(diag_fd, &message, sizeof message, MSG_DONTWAIT, (struct sockaddr *)&kernel, sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return errno;

    // One inet_diag_msg and a few attributes (~200 bytes); aligned for nlmsghdr.
    uint32_t buffer[2048];
    for (int attempt = 0; attempt < receive_attempts; attempt++) {
        struct sockaddr_nl from;
        memset(&from, 0, sizeof from);
        socklen_t from_length = sizeof from;
        ssize_t received = recvfrom(diag_fd, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &from_length);
        if (received < 0 && errno == EINTR) continue;
        if (received < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
        if (from.nl_pid != 0) continue;  // only the kernel answers lookups
        int remaining = (int)received;
        for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, remaining);
             header = NLMSG_NEXT(header, remaining)) {
            if (header->nlmsg_seq != sequence) continue;  // the late answer to an earlier lookup
            if (header->nlmsg_type == NLMSG_ERROR) {
                if (header->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) return EPROTO;
                int error = -((const struct nlmsgerr *)NLMSG_DATA(header))->error;
                if (error == ENOENT) return 0;  // the kernel holds no such socket
                return error != 0 ? error : EPROTO;
            }
            if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY
                || header->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) return EPROTO;
            const struct inet_diag_msg *reply = NLMSG_DATA(header);
            if (!is_requested_socket(reply, &message.request)) return 0;
            out->found = 1;
            out->state = reply->idiag_state;
            out->timer = reply->idiag_timer;
            out->retransmits = reply->idiag_retrans;
            out->expires_ms = reply->idiag_expires;
            out->receive_queue = reply->idiag_rqueue;
            out->send_queue = reply->idiag_wqueue;
            return 0;
        }
    }
    return ETIMEDOUT;
}
