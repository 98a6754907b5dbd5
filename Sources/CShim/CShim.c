#define _GNU_SOURCE
#include "CShim.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int cshim_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cshim_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int cshim_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }

int cshim_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int cshim_accept_nonblocking(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int cshim_enable_passcred(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
}

ssize_t cshim_recv_with_credentials(int fd, void *buf, size_t len, pid_t *pid, uid_t *uid) {
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    *pid = 0;
    *uid = (uid_t)-1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof(cred));
            *pid = cred.pid;
            *uid = cred.uid;
        }
    }
    if (msg.msg_flags & MSG_TRUNC) {
        errno = EMSGSIZE;
        return -1;
    }
    return n;
}

int cshim_spawn(const char *path, char *const argv[], char *const envp[], pid_t *pid) {
    posix_spawnattr_t attr;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_USEVFORK);
    rc = posix_spawn(pid, path, NULL, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    return rc;
}

#include <fcntl.h>
#include <sys/wait.h>
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static void cshim_cloexec_range(unsigned first, unsigned last) {
    if (syscall(SYS_close_range, first, last, 4 /* CLOSE_RANGE_CLOEXEC */) == 0) return;
    for (unsigned fd = first; fd <= last && fd < 65536; fd++) (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

int cshim_spawn_child(const char *path, char *const argv[], char *const envp[], const char *cwd, int pass_fd, int target_fd,
                      int death_signal, pid_t *pid) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    sigset_t all, none, old;
    sigfillset(&all);
    sigemptyset(&none);
    /* No signal handler of the parent may run in the child before its dispositions are reset. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        int err = 0;
        int rep = report[1];
        if (pass_fd >= 0 && rep == target_fd) rep = fcntl(rep, F_DUPFD_CLOEXEC, target_fd + 1);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) (void)sigaction(sig, &dfl, NULL);
        if (setpgid(0, 0) != 0) err = errno;
        if (!err && death_signal > 0 && prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) err = errno;
        if (!err && death_signal > 0 && getppid() != parent) err = ESRCH;
        if (!err) {
            int devnull = open("/dev/null", O_RDONLY);
            if (devnull >= 0 && devnull != 0) {
                dup2(devnull, 0);
                close(devnull);
            }
        }
        if (!err && pass_fd >= 0) {
            if (pass_fd == target_fd) {
                if (fcntl(target_fd, F_SETFD, 0) != 0) err = errno;
            } else if (dup2(pass_fd, target_fd) < 0) {
                err = errno;
            }
        }
        if (!err && cwd != NULL && chdir(cwd) != 0) err = errno;
        if (!err) {
            /* Every other descriptor above 2 is marked close-on-exec (the report pipe is already):
               nothing of the parent's (its lock, its sockets) leaks into the program. */
            if (pass_fd >= 0) {
                if (target_fd > 3) cshim_cloexec_range(3, (unsigned)target_fd - 1);
                cshim_cloexec_range((unsigned)target_fd + 1, ~0U);
            } else {
                cshim_cloexec_range(3, ~0U);
            }
            sigprocmask(SIG_SETMASK, &none, NULL);
            execve(path, argv, envp);
            err = errno;
        }
        ssize_t ignored = write(rep, &err, sizeof(err));
        (void)ignored;
        _exit(127);
    }
    int forkErr = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        return forkErr;
    }
    int childErr = 0;
    ssize_t n;
    do {
        n = read(report[0], &childErr, sizeof(childErr));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof(childErr)) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        return childErr != 0 ? childErr : ECHILD;
    }
    *pid = child;
    return 0;
}

#include <sys/vfs.h>
int cshim_fs_type(const char *path, unsigned long long *type) {
    struct statfs st;
    if (statfs(path, &st) != 0) return -1;
    *type = (unsigned long long)(unsigned int)st.f_type;
    return 0;
}
