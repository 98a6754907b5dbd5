#ifndef CSHIM_H
#define CSHIM_H
/*
 * The few Linux system calls Swift cannot reach through Glibc: epoll, signalfd and timerfd are
 * not in the Glibc module, and syscall(2) and prctl(2) are variadic. Each wrapper returns what the
 * system call returns (-1 with errno set on failure).
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <signal.h>

/* pidfd_open(2): a file descriptor that becomes readable when the process exits. */
int cshim_pidfd_open(pid_t pid);
/* pidfd_send_signal(2): signal the process the pidfd refers to, with no pid-reuse window. */
int cshim_pidfd_send_signal(int pidfd, int sig);
/* prctl(PR_SET_PDEATHSIG, sig). */
int cshim_set_parent_death_signal(int sig);
/* SO_PEERCRED of a connected Unix socket. */
int cshim_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/* accept4(2) with SOCK_NONBLOCK|SOCK_CLOEXEC. */
int cshim_accept_nonblocking(int fd);
/* SO_PASSCRED on a socket, so that recvmsg returns SCM_CREDENTIALS. */
int cshim_enable_passcred(int fd);
/*
 * recvmsg(2) of one datagram with its SCM_CREDENTIALS. *pid is 0 when the datagram carried none.
 * Returns the datagram's length, or -1 with errno.
 */
ssize_t cshim_recv_with_credentials(int fd, void *buf, size_t len, pid_t *pid, uid_t *uid);
/*
 * posix_spawn(3) of path with argv and envp, in a new process group of its own, with every signal
 * at its default disposition and an empty signal mask. Returns 0 and sets *pid, or an errno value.
 */
int cshim_spawn(const char *path, char *const argv[], char *const envp[], pid_t *pid);
/*
 * fork(2) and execve(2) of path, for a child that must die with the thread that spawns it (the
 * worker's strategy process): in a new process group of its own, every signal at its default
 * disposition and an empty mask, PR_SET_PDEATHSIG set to death_signal (checked against a parent
 * that already died), stdin from /dev/null, pass_fd (>= 0) as descriptor target_fd with
 * close-on-exec cleared, every other descriptor above 2 closed, in folder cwd (NULL: unchanged).
 * Returns 0 and sets *pid, or the errno value of the step that failed (the child reports it
 * through a close-on-exec pipe, so a failed exec is an error here, not a child that exits 127).
 */
int cshim_spawn_child(const char *path, char *const argv[], char *const envp[], const char *cwd, int pass_fd, int target_fd,
                      int death_signal, pid_t *pid);
/* statfs(2)'s f_type (the file system's magic number) of path; 0 or -1 with errno. */
int cshim_fs_type(const char *path, unsigned long long *type);
/* CRC-32C of len bytes at buf, continued from crc (0 to start): Checksum.c. */
#include <stdint.h>
#include <stddef.h>
uint32_t cshim_crc32c(uint32_t crc, const void *buf, size_t len);
#endif
