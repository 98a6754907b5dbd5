/* The tiny supervised child of scripts/bench (docs/BENCHMARKS.md).
 *
 * Its first instruction reads CLOCK_MONOTONIC and appends "start <pid> <ns>\n" to its stamp file:
 * `--stamp FILE`, else ./stamp (runit and s6 run it as ./run in the service folder, a symlink to
 * this binary, so no shell sits in between for any supervisor). Then it reports readiness the way
 * its supervisor expects:
 *   - s6: if ./notification-fd exists, a newline to that fd (s6-supervise's readiness);
 *   - ours (and systemd): READY=1 as one datagram to $NOTIFY_SOCKET, and WATCHDOG=1 every
 *     WATCHDOG_USEC/4, each ping stamped "ping <pid> <ns>\n" when --stamp-pings is given;
 *   - runit and supervisord: nothing (they have no readiness protocol).
 * and sleeps until it is killed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
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

static void stamp(const char *path, const char *what, long long ns) {
    char line[96];
    int n = snprintf(line, sizeof line, "%s %d %lld\n", what, (int)getpid(), ns);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) { (void)!write(fd, line, (size_t)n); close(fd); }
}

static int notify(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path) return -1;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ssize_t r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
    return r < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    long long t0 = mono_ns();
    const char *path = "./stamp";
    int stamp_pings = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stamp") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--stamp-pings")) stamp_pings = 1;
    }
    stamp(path, "start", t0);

    int nfd = open("./notification-fd", O_RDONLY | O_CLOEXEC);
    if (nfd >= 0) {
        char buf[16] = {0};
        ssize_t n = read(nfd, buf, sizeof buf - 1);
        close(nfd);
        if (n > 0) { int fd = atoi(buf); (void)!write(fd, "\n", 1); close(fd); }
    }
    notify("READY=1");
    const char *wd = getenv("WATCHDOG_USEC");
    long long usec = wd ? atoll(wd) : 0;
    if (usec <= 0) for (;;) pause();
    for (;;) {
        usleep((useconds_t)(usec / 4));
        long long t = mono_ns();
        notify("WATCHDOG=1");
        if (stamp_pings) stamp(path, "ping", t);
    }
}
