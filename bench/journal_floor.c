/*
 * The floor for the worker's journal (bench/journal.py): what the file system itself allows for
 * appending event lines durably, with nothing else in the way.
 *
 *   journal_floor FILE LINE_BYTES EVENTS BATCH RATE LATENCY_EVENTS
 *
 * prints one JSON line:
 *   per_event_per_second   write + fdatasync for every line, as fast as it goes (BATCH 1 only)
 *   per_batch_per_second   one write + fdatasync for BATCH lines at a time
 *   p50_us, p99_us         write + fdatasync of one line, one every 1/RATE s (LATENCY_EVENTS of them)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static int fresh(const char *path) {
    unlink(path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) { perror(path); exit(1); }
    return fd;
}

static void put(int fd, const char *buf, size_t n) {
    if (write(fd, buf, n) != (ssize_t)n) { perror("write"); exit(1); }
}

static void sync_or_die(int fd) {
    if (fdatasync(fd) != 0) { perror("fdatasync"); exit(1); }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: journal_floor FILE LINE_BYTES EVENTS BATCH RATE LATENCY_EVENTS\n");
        return 64;
    }
    const char *path = argv[1];
    int line = atoi(argv[2]), events = atoi(argv[3]), batch = atoi(argv[4]);
    double rate = atof(argv[5]);
    int lat_n = atoi(argv[6]);
    char *buf = malloc((size_t)line * batch);
    memset(buf, 'x', (size_t)line * batch);
    for (int i = 0; i < batch; i++) buf[(size_t)(i + 1) * line - 1] = '\n';

    int fd;
    long long t0;
    double per_event = 0;
    if (batch == 1) {
        fd = fresh(path);
        t0 = now_ns();
        for (int i = 0; i < events; i++) { put(fd, buf, line); sync_or_die(fd); }
        per_event = events / ((now_ns() - t0) / 1e9);
        close(fd);
    }

    fd = fresh(path);
    int batches = events / batch;
    t0 = now_ns();
    for (int i = 0; i < batches; i++) { put(fd, buf, (size_t)line * batch); sync_or_die(fd); }
    double per_batch = (double)batches * batch / ((now_ns() - t0) / 1e9);
    close(fd);

    fd = fresh(path);
    long long *lat = malloc(sizeof(long long) * lat_n);
    long long interval = (long long)(1e9 / rate), start = now_ns();
    for (int i = 0; i < lat_n; i++) {
        long long due = start + i * interval, t;
        while ((t = now_ns()) < due) {
            long long left = due - t;
            struct timespec s = {left / 1000000000LL, left % 1000000000LL};
            nanosleep(&s, NULL);
        }
        t = now_ns();
        put(fd, buf, line);
        sync_or_die(fd);
        lat[i] = now_ns() - t;
    }
    close(fd);
    unlink(path);
    qsort(lat, lat_n, sizeof(long long), cmp);
    printf("{\"per_event_per_second\":%.0f,\"per_batch_per_second\":%.0f,\"batch\":%d,\"line_bytes\":%d,"
           "\"p50_us\":%lld,\"p99_us\":%lld,\"max_us\":%lld}\n",
           per_event, per_batch, batch, line, lat[lat_n / 2] / 1000, lat[(int)(lat_n * 0.99)] / 1000, lat[lat_n - 1] / 1000);
    return 0;
}
