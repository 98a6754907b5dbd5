/* A worker-like writer for the watchdog benchmarks of scripts/bench (docs/BENCHMARKS.md).
 *
 *   ingest_writer SOCKET MARKET COUNT BATCH RATE
 *
 * Takes MARKET's lock like a worker (flock of HOME/runtime_locks/canonical_MARKET.lock, where
 * SOCKET is HOME/run/watchdog.sock: the watchdog accepts a fence only from the lock's holder),
 * connects to SOCKET, sends a worker hello with its own pid (the watchdog checks it against
 * SO_PEERCRED), reads the welcome, then writes COUNT valid ~230-byte events with seq 1..COUNT:
 * BATCH lines per write() (1 = one line per write), as fast as it can (RATE 0) or RATE events/s
 * from a timer. It then reads acks until one covers seq COUNT, and prints
 *   "<first write ns> <last ack ns>" and, with RATE > 0, one "lat <applied ns> <ack ns>" line per
 *   event: the time from its write to the first message that says it is applied, and to the first
 *   ack that covers it. With RATE > 0 the hello asks for the watchdog's "applied" notices
 *   (applied{run_id, seq}: applied to its live state, not yet durable); a server that sends
 *   none (the Python peer acks once applied) has its ack count as both. Both messages are
 *   cumulative: they cover every seq up to seq. With RATE > 0 the writer spins between sends
 *   (it has a core of its own), so each reply is stamped when it arrives. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; perror("write"); exit(1); }
        p += w; n -= (size_t)w;
    }
}

static char rbuf[1 << 20];
static size_t rlen = 0;
static long long acked = 0;
static long long applied = 0;
static long long *written_at, *acked_at, *applied_at;
static long long next_unacked = 1, next_unapplied = 1;

static void covered(long long seq, long long *mark, long long *next, long long *at, long long now) {
    if (seq > *mark) *mark = seq;
    while (*next <= *mark) at[(*next)++] = now;
}

/* Reads once and takes every complete ack and applied line, stamped now; with MSG_DONTWAIT in
 * flags, returns 0 at once when nothing is there. */
static int read_acks_now(int fd, int flags) {
    ssize_t r = recv(fd, rbuf + rlen, sizeof rbuf - rlen - 1, flags);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && (flags & MSG_DONTWAIT)) return 0;
    if (r <= 0) { fprintf(stderr, "ingest_writer: the server closed the connection\n"); exit(1); }
    long long now = mono_ns();
    rlen += (size_t)r;
    rbuf[rlen] = 0;
    char *line = rbuf, *nl;
    while ((nl = memchr(line, '\n', rlen - (size_t)(line - rbuf)))) {
        *nl = 0;
        char *s = strstr(line, "\"seq\":");
        if (strstr(line, "\"ack\"") && s) {
            long long seq = atoll(s + 6);
            covered(seq, &acked, &next_unacked, acked_at, now);
            covered(seq, &applied, &next_unapplied, applied_at, now);
        } else if (strstr(line, "\"applied\"") && s) {
            covered(atoll(s + 6), &applied, &next_unapplied, applied_at, now);
        } else if (strstr(line, "\"error\"")) { fprintf(stderr, "ingest_writer: %s\n", line); }
        line = nl + 1;
    }
    rlen -= (size_t)(line - rbuf);
    memmove(rbuf, line, rlen);
    return 1;
}

/* Reads what is there (blocking once if block), and takes every complete ack line. */
static int read_acks(int fd, int block) {
    if (!block) { struct pollfd p = {fd, POLLIN, 0}; if (poll(&p, 1, 0) <= 0) return 0; }
    return read_acks_now(fd, 0);
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: ingest_writer SOCKET MARKET COUNT BATCH RATE\n"); return 2; }
    const char *path = argv[1], *market = argv[2];
    long long count = atoll(argv[3]);
    int batch = atoi(argv[4]);
    double rate = atof(argv[5]);
    char home[4096], lockdir[4200], lockpath[4400];
    snprintf(home, sizeof home, "%s", path);
    char *rundir = dirname(home);         /* HOME/run */
    snprintf(lockdir, sizeof lockdir, "%s/../runtime_locks", rundir);
    mkdir(lockdir, 0750);
    snprintf(lockpath, sizeof lockpath, "%s/canonical_%s.lock", lockdir, market);
    int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "ingest_writer: cannot take %s: %s\n", lockpath, strerror(errno));
        return 1;
    }
    written_at = calloc((size_t)count + 2, sizeof *written_at);
    acked_at = calloc((size_t)count + 2, sizeof *acked_at);
    applied_at = calloc((size_t)count + 2, sizeof *applied_at);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
    char run[64];
    snprintf(run, sizeof run, "%s-20261121T071500Z-%08x", market, (unsigned)getpid());
    char hello[512];
    int hn = snprintf(hello, sizeof hello,
        "{\"v\":1,\"type\":\"hello\",\"role\":\"worker\",\"market\":\"%s\",\"run_id\":\"%s\",\"pid\":%d,\"fence\":1,\"resume_runs\":[]%s}\n",
        market, run, (int)getpid(), rate > 0 ? ",\"applied_notices\":true" : "");
    write_all(fd, hello, (size_t)hn);
    /* the welcome */
    for (;;) {
        ssize_t r = read(fd, rbuf + rlen, sizeof rbuf - rlen - 1);
        if (r <= 0) { fprintf(stderr, "ingest_writer: no welcome\n"); return 1; }
        rlen += (size_t)r;
        char *nl = memchr(rbuf, '\n', rlen);
        if (nl) {
            if (!strstr(rbuf, "welcome")) { fprintf(stderr, "ingest_writer: %.*s\n", (int)(nl - rbuf), rbuf); return 1; }
            rlen -= (size_t)(nl + 1 - rbuf); memmove(rbuf, nl + 1, rlen); break;
        }
    }

    /* Every line is prefix, seq, suffix: formatted once, so the writer spends its time in write(),
     * not in snprintf (it must outpace the server it measures). */
    char prefix[512], suffix[256];
    int pn = snprintf(prefix, sizeof prefix,
        "{\"v\":1,\"type\":\"FEED_STATUS\",\"market\":\"%s\",\"run_id\":\"%s\",\"pid\":%d,\"fence\":1,\"seq\":",
        market, run, (int)getpid());
    int sn = snprintf(suffix, sizeof suffix, "%s",
        ",\"ts\":\"2026-11-21T07:15:00.133000Z\",\"data\":{\"connected\":true,\"detail\":\"synthetic feed, 4.0 ticks/s, seed 1\"}}\n");
    size_t cap = (size_t)batch * (size_t)(pn + sn + 24) + 64;
    char *out = malloc(cap);
    long long start = mono_ns(), interval = rate > 0 ? (long long)(1e9 / rate) : 0;
    for (long long seq = 1; seq <= count;) {
        size_t n = 0;
        int k = 0;
        for (; k < batch && seq <= count; k++, seq++) {
            memcpy(out + n, prefix, (size_t)pn);
            n += (size_t)pn;
            char digits[24];
            int d = 0;
            for (long long v = seq; v > 0; v /= 10) digits[d++] = (char)('0' + v % 10);
            while (d > 0) out[n++] = digits[--d];
            memcpy(out + n, suffix, (size_t)sn);
            n += (size_t)sn;
        }
        if (interval) {
            long long due = start + (seq - 1 - k) * interval;
            /* Spin until the send time, taking replies as they come: a reply is stamped the moment
             * it is in the socket, not when the scheduler wakes the writer. The writer has core 1 to
             * itself; the server under test, on core 0, waits for its input as it always does. */
            while (mono_ns() < due) read_acks_now(fd, MSG_DONTWAIT);
        }
        long long t = mono_ns();
        for (long long s = seq - k; s < seq; s++) written_at[s] = t;
        write_all(fd, out, n);
        if (interval) read_acks(fd, 0);
    }
    while (interval && applied < count) read_acks_now(fd, MSG_DONTWAIT);
    while (acked < count) read_acks(fd, 1);
    printf("%lld %lld\n", start, acked_at[count]);
    if (interval)
        for (long long s = 1; s <= count; s++) printf("lat %lld %lld\n", applied_at[s] - written_at[s], acked_at[s] - written_at[s]);
    return 0;
}
