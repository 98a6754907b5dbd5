/*
 * The transport floor of a strategy (bench/strategy.py): the benchmark's strategy logic on the raw
 * protocol of docs/STRATEGY.md, in C. On fd 3 (STRATEGY_FD): `ready` after `hello`; on every
 * EVERY-th tick, when no order of its own is open or unanswered, a market order (alternating buy
 * and sell, so the position stays within one lot) tagged with the tick's seq; a heartbeat a
 * second. At `shutdown` it writes "ticks COUNT FIRST_NS LAST_NS", then per accepted order
 * "tick_mono_ns accepted_mono_ns received_mono_ns sent_mono_ns", to OUT.
 *
 *   strategy_raw EVERY OUT
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long number_after(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? atoll(p + strlen(key)) : -1;
}

static void say(const char *text) {
    size_t n = strlen(text), off = 0;
    while (off < n) {
        ssize_t w = write(3, text + off, n - off);
        if (w <= 0) exit(1);
        off += (size_t)w;
    }
}

#define MAX 200000
static long long tick_ns[MAX], acc_ns[MAX], recv_ns[MAX], sent_ns[MAX];

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    signal(SIGTERM, SIG_IGN); /* `shutdown` comes first: the results are written then */
    long every = atol(argv[1]);
    const char *out = argv[2];
    static char buf[1 << 20];
    size_t have = 0;
    int busy = 0, side = 0, count = 0;
    long long pending_tick = 0, pending_sent = 0, last_sent = now_ns(), ticks = 0, first_tick = 0, last_tick = 0;
    for (;;) {
        struct pollfd p = {.fd = 3, .events = POLLIN};
        if (poll(&p, 1, 200) == 0 || now_ns() - last_sent > 1000000000LL) {
            say("{\"v\":1,\"type\":\"heartbeat\"}\n");
            last_sent = now_ns();
            if (!(p.revents & POLLIN)) continue;
        }
        ssize_t n = read(3, buf + have, sizeof(buf) - have - 1);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = 0;
            if (strstr(line, "\"type\":\"tick\"")) {
                long long seq = number_after(line, "\"seq\":");
                last_tick = now_ns();
                if (ticks++ == 0) first_tick = last_tick;
                if (!busy && seq % every == 0) {
                    char order[160];
                    snprintf(order, sizeof(order),
                             "{\"v\":1,\"type\":\"order\",\"side\":\"%s\",\"quantity\":1,\"order_type\":\"market\",\"tag\":\"b%lld\"}\n",
                             side ? "sell" : "buy", seq);
                    say(order);
                    last_sent = pending_sent = now_ns();
                    side = !side;
                    busy = 1;
                    pending_tick = number_after(line, "\"mono_ns\":");
                }
            } else if (strstr(line, "\"type\":\"order_accepted\"")) {
                if (count < MAX) {
                    tick_ns[count] = pending_tick;
                    acc_ns[count] = number_after(line, "\"mono_ns\":");
                    recv_ns[count] = now_ns();
                    sent_ns[count] = pending_sent;
                    count++;
                }
            } else if (strstr(line, "\"type\":\"order_rejected\"")) {
                busy = 0;
            } else if (strstr(line, "\"type\":\"order_update\"") && !strstr(line, "\"status\":\"OPEN\"")) {
                busy = 0;
            } else if (strstr(line, "\"type\":\"hello\"")) {
                say("{\"v\":1,\"type\":\"ready\"}\n");
            } else if (strstr(line, "\"type\":\"shutdown\"")) {
                goto done;
            }
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
    }
done:;
    FILE *f = fopen(out, "w");
    if (!f) return 1;
    fprintf(f, "ticks %lld %lld %lld\n", ticks, first_tick, last_tick);
    for (int i = 0; i < count; i++) fprintf(f, "%lld %lld %lld %lld\n", tick_ns[i], acc_ns[i], recv_ns[i], sent_ns[i]);
    fclose(f);
    return 0;
}
