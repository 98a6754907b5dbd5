/* The raw-socket reference of the watchdog benchmarks (docs/BENCHMARKS.md): what a Unix stream
 * socket costs with no work at all. A C epoll server that answers a hello with a welcome and, after
 * each read, acks the last "seq" it finds in the read, without parsing, validating or applying
 * anything. Its ingestion rate is the transport's ceiling and its latency the floor of two wakeups
 * across cores; neither is a peer to beat, both tell how close a real server comes.
 *
 *   raw_server SOCKET
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXFD 1024
#define CARRY 1024
static char carry[MAXFD][CARRY]; /* the start of a line cut by the end of a read */
static size_t carry_len[MAXFD];
/* What the socket did not take: the rest of a line it took in part, then the latest answer
 * (acks are cumulative, so a newer one replaces an older one that never went out). */
static char partial[MAXFD][128], latest[MAXFD][128];
static int partial_len[MAXFD], latest_len[MAXFD];

/* Sends what waits, partial line first; returns whether everything went. Never blocks. */
static int flush(int fd) {
    int k = fd % MAXFD;
    while (partial_len[k] > 0 || latest_len[k] > 0) {
        char *p = partial_len[k] > 0 ? partial[k] : latest[k];
        int *n = partial_len[k] > 0 ? &partial_len[k] : &latest_len[k];
        ssize_t w = send(fd, p, (size_t)*n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) return 0;
        if (w < *n && p == latest[k]) { /* the latest answer is now a line begun */
            memcpy(partial[k], p + w, (size_t)(*n - w));
            partial_len[k] = *n - (int)w;
            latest_len[k] = 0;
            return 0;
        }
        memmove(p, p + w, (size_t)(*n - w));
        *n -= (int)w;
    }
    return 1;
}

static void answer(int ep, int fd, const char *out, int n) {
    memcpy(latest[fd % MAXFD], out, (size_t)n);
    latest_len[fd % MAXFD] = n;
    if (!flush(fd)) {
        struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: raw_server SOCKET\n"); return 2; }
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
    unlink(argv[1]);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 512) != 0) { perror("bind"); return 1; }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    static char buf[1 << 16];
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) continue;
                carry_len[c % MAXFD] = 0;
                partial_len[c % MAXFD] = latest_len[c % MAXFD] = 0;
                struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (flush(fd)) {
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                }
                if (!(evs[i].events & EPOLLIN)) continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) { close(fd); continue; }
            /* The last complete line of what arrived (its start may be in the previous read). */
            char line[2 * CARRY];
            size_t len = 0;
            char *end = memrchr(buf, '\n', (size_t)r);
            if (end) {
                char *start = memrchr(buf, '\n', (size_t)(end - buf));
                if (start) {
                    start++;
                } else {
                    start = buf;
                    memcpy(line, carry[fd % MAXFD], carry_len[fd % MAXFD]);
                    len = carry_len[fd % MAXFD];
                }
                size_t n = (size_t)(end - start) < CARRY ? (size_t)(end - start) : CARRY;
                memcpy(line + len, start, n);
                len += n;
                /* What follows the last newline begins the next line. */
                size_t rest = (size_t)(buf + r - (end + 1));
                carry_len[fd % MAXFD] = rest < CARRY ? rest : CARRY;
                memcpy(carry[fd % MAXFD], end + 1, carry_len[fd % MAXFD]);
            } else {
                size_t room = CARRY - carry_len[fd % MAXFD], n = (size_t)r < room ? (size_t)r : room;
                memcpy(carry[fd % MAXFD] + carry_len[fd % MAXFD], buf, n);
                carry_len[fd % MAXFD] += n;
                continue;
            }
            char out[256];
            int o = 0;
            char *seq = memmem(line, len, "\"seq\":", 6);
            if (memmem(line, len, "\"hello\"", 7)) o = snprintf(out, sizeof out, "{\"v\":1,\"type\":\"welcome\",\"applied\":{}}\n");
            else if (seq) o = snprintf(out, sizeof out, "{\"v\":1,\"type\":\"ack\",\"run_id\":\"-\",\"seq\":%lld}\n", atoll(seq + 6));
            if (o > 0) answer(ep, fd, out, o);
        }
    }
}
