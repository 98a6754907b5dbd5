/*
 * powerloss-fs: a FUSE file system for tests that passes through to a backing folder and, on a
 * command, throws away everything that was not made durable, as a power cut would (the idea of
 * LazyFS). See README.md beside this file.
 *
 * The model. The backing folder is the live state. Per file (by backing inode) the file system
 * keeps what it would hold after a power cut: all of it while nothing changed since its last
 * fsync (CLEAN), its first `dsize` bytes while it was only appended to (PREFIX), or a copy saved
 * in the shadow folder before the first change below `dsize` (SAVED). Per folder it keeps the
 * name -> inode list as of its last fsync (a copy taken before the first change after it). An
 * unlinked or replaced file is hard-linked into the shadow folder first, so it can come back. On
 * `cut` the backing folder is rebuilt from the durable lists and contents, starting at the root.
 *
 * Control: the virtual file MOUNT/.powerloss. Write one command per write:
 *   cut          power loss now: rebuild the backing folder from what is durable
 *   freeze       fsync, fdatasync and fsyncdir block (and make nothing durable) until thaw or cut
 *   thaw         release the blocked syncs; they then take effect
 *   arm TEXT     once an fsync makes durable a write that contained TEXT: cut, then go dead
 *   revive       end the dead state (after a cut by arm, every other operation fails with EIO)
 * Read it for one status line: generation, dead, frozen, counts of syncs and dirty files.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#define CONTROL "/.powerloss"

enum { CLEAN = 0, PREFIX = 1, SAVED = 2 };

struct fstate {
    uint64_t ino;
    int mode;
    off_t dsize;
    int armed;
};

struct dent {
    char *name;
    uint64_t ino;
    unsigned char type; /* DT_REG, DT_DIR, DT_LNK */
    char *target;       /* symlinks */
};

struct dstate {
    uint64_t ino;
    int removed;
    mode_t perm;
    struct dent *ents;
    int n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t thaw_cv = PTHREAD_COND_INITIALIZER;
static int backing_fd = -1, shadow_fd = -1;
static char *shadow_path;
static unsigned long generation, fsyncs, fsyncdirs, cuts, blocked;
static int dead, frozen;
static char *arm_text;

static struct fstate *files;
static int nfiles, capfiles;
static struct dstate *dirs;
static int ndirs, capdirs;

static void logf_(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "powerloss-fs: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* FUSE paths are "/a/b"; the backing *at() calls take "a/b", and "." for the root. */
static const char *rel(const char *path) { return (path[0] == '/' && path[1]) ? path + 1 : "."; }

static struct fstate *file_find(uint64_t ino) {
    for (int i = 0; i < nfiles; i++)
        if (files[i].ino == ino) return &files[i];
    return NULL;
}

static struct fstate *file_get(uint64_t ino) {
    struct fstate *f = file_find(ino);
    if (f) return f;
    if (nfiles == capfiles) {
        capfiles = capfiles ? capfiles * 2 : 64;
        files = realloc(files, sizeof *files * capfiles);
    }
    f = &files[nfiles++];
    memset(f, 0, sizeof *f);
    f->ino = ino;
    return f;
}

static void saved_name(char *buf, size_t n, uint64_t ino) { snprintf(buf, n, "s%llu", (unsigned long long)ino); }
static void orphan_name(char *buf, size_t n, uint64_t ino) { snprintf(buf, n, "o%llu", (unsigned long long)ino); }
static void rmdir_name(char *buf, size_t n, uint64_t ino) { snprintf(buf, n, "d%llu", (unsigned long long)ino); }

static void file_forget(uint64_t ino) {
    struct fstate *f = file_find(ino);
    if (!f) return;
    char name[64];
    saved_name(name, sizeof name, ino);
    unlinkat(shadow_fd, name, 0);
    *f = files[--nfiles];
}

static struct dstate *dir_find(uint64_t ino) {
    for (int i = 0; i < ndirs; i++)
        if (dirs[i].ino == ino) return &dirs[i];
    return NULL;
}

static void dir_free(struct dstate *d) {
    for (int i = 0; i < d->n; i++) {
        free(d->ents[i].name);
        free(d->ents[i].target);
    }
    free(d->ents);
}

static void dir_forget(uint64_t ino) {
    struct dstate *d = dir_find(ino);
    if (!d) return;
    dir_free(d);
    *d = dirs[--ndirs];
}

static int copy_bytes(int from, int to, off_t len) {
    char buf[65536];
    off_t done = 0;
    while (len < 0 || done < len) {
        size_t want = sizeof buf;
        if (len >= 0 && (off_t)want > len - done) want = (size_t)(len - done);
        ssize_t r = pread(from, buf, want, done);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) break;
        for (ssize_t w = 0; w < r;) {
            ssize_t k = pwrite(to, buf + w, (size_t)(r - w), done + w);
            if (k < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            w += k;
        }
        done += r;
    }
    return 0;
}

/* A file is about to change at byte `lowest` and on; `cur` is its live size. `fd` reads it. */
static int before_file_change(int fd, uint64_t ino, off_t cur, off_t lowest) {
    struct fstate *f = file_get(ino);
    if (f->mode == CLEAN) {
        f->mode = PREFIX;
        f->dsize = cur;
    }
    if (f->mode == PREFIX && lowest < f->dsize) {
        char name[64];
        saved_name(name, sizeof name, ino);
        int s = openat(shadow_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (s < 0) return -errno;
        int r = copy_bytes(fd, s, f->dsize);
        close(s);
        if (r < 0) return r;
        f->mode = SAVED;
    }
    return 0;
}

/* Lists a live folder into `out` (name, inode, type, symlink target). */
static int list_live(int dfd, struct dent **out, int *count) {
    int fd = dup(dfd);
    if (fd < 0) return -errno;
    DIR *dp = fdopendir(fd);
    if (!dp) {
        close(fd);
        return -errno;
    }
    rewinddir(dp);
    struct dent *ents = NULL;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        unsigned char type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        if (type == DT_UNKNOWN) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ents = realloc(ents, sizeof *ents * cap);
        }
        ents[n].name = strdup(de->d_name);
        ents[n].ino = st.st_ino;
        ents[n].type = type;
        ents[n].target = NULL;
        if (type == DT_LNK) {
            char t[PATH_MAX];
            ssize_t k = readlinkat(dfd, de->d_name, t, sizeof t - 1);
            t[k < 0 ? 0 : k] = 0;
            ents[n].target = strdup(t);
        }
        n++;
    }
    closedir(dp);
    *out = ents;
    *count = n;
    return 0;
}

/* The folder at `path` (FUSE path) is about to change: keep its durable listing if not yet kept. */
static int before_dir_change(const char *path) {
    struct stat st;
    if (fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
    if (dir_find(st.st_ino)) return 0;
    int dfd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    struct dent *ents;
    int n;
    int r = list_live(dfd, &ents, &n);
    close(dfd);
    if (r < 0) return r;
    if (ndirs == capdirs) {
        capdirs = capdirs ? capdirs * 2 : 32;
        dirs = realloc(dirs, sizeof *dirs * capdirs);
    }
    struct dstate *d = &dirs[ndirs++];
    d->ino = st.st_ino;
    d->removed = 0;
    d->perm = st.st_mode & 07777;
    d->ents = ents;
    d->n = n;
    return 0;
}

static void parent_of(const char *path, char *out, size_t n) {
    snprintf(out, n, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out) out[1] = 0;
    else if (slash) *slash = 0;
}

static int before_parent_change(const char *path) {
    char parent[PATH_MAX];
    parent_of(path, parent, sizeof parent);
    return before_dir_change(parent);
}

/* Keeps a file that is about to be unlinked or replaced: a hard link in the shadow folder. */
static int keep_orphan(const char *path) {
    struct stat st;
    if (fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) return 0;
    char name[64];
    orphan_name(name, sizeof name, st.st_ino);
    if (linkat(backing_fd, rel(path), shadow_fd, name, 0) != 0 && errno != EEXIST) return -errno;
    return 0;
}

static int referenced(uint64_t ino) {
    for (int i = 0; i < ndirs; i++)
        for (int j = 0; j < dirs[i].n; j++)
            if (dirs[i].ents[j].ino == ino) return 1;
    return 0;
}

/* Drops the orphans and removed folders that no durable listing names any more. */
static void collect_garbage(void) {
    int fd = dup(shadow_fd);
    DIR *dp = fdopendir(fd);
    if (!dp) return;
    rewinddir(dp);
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] != 'o') continue;
        uint64_t ino = strtoull(de->d_name + 1, NULL, 10);
        if (referenced(ino)) continue;
        struct stat st;
        if (fstatat(shadow_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink <= 1) file_forget(ino);
        unlinkat(shadow_fd, de->d_name, 0);
    }
    closedir(dp);
    for (int i = 0; i < ndirs;) {
        if (dirs[i].removed && !referenced(dirs[i].ino)) {
            char name[64];
            rmdir_name(name, sizeof name, dirs[i].ino);
            unlinkat(shadow_fd, name, AT_REMOVEDIR);
            dir_free(&dirs[i]);
            dirs[i] = dirs[--ndirs];
        } else {
            i++;
        }
    }
}

/* ---- the cut ---- */

struct where {
    uint64_t ino;
    int dirfd; /* backing_fd or shadow_fd */
    char *path;
};
static struct where *live;
static int nlive, caplive;

static void where_add(uint64_t ino, int dirfd, const char *path) {
    for (int i = 0; i < nlive; i++)
        if (live[i].ino == ino) return;
    if (nlive == caplive) {
        caplive = caplive ? caplive * 2 : 64;
        live = realloc(live, sizeof *live * caplive);
    }
    live[nlive].ino = ino;
    live[nlive].dirfd = dirfd;
    live[nlive].path = strdup(path);
    nlive++;
}

static struct where *where_find(uint64_t ino) {
    for (int i = 0; i < nlive; i++)
        if (live[i].ino == ino) return &live[i];
    return NULL;
}

static void index_live(int dirfd, const char *path) {
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR *dp = fdopendir(fd);
    if (!dp) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (fstatat(dirfd, child, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        where_add(st.st_ino, dirfd, child);
        if (S_ISDIR(st.st_mode)) index_live(dirfd, child);
    }
    closedir(dp);
}

static void remove_tree(int dirfd, const char *name) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            DIR *dp = fdopendir(fd);
            struct dirent *de;
            while (dp && (de = readdir(dp)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) remove_tree(fd, de->d_name);
            if (dp) closedir(dp);
            else close(fd);
        }
        unlinkat(dirfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(dirfd, name, 0);
    }
}

static void empty_folder(int dirfd) {
    int fd = dup(dirfd);
    DIR *dp = fdopendir(fd);
    if (!dp) return;
    rewinddir(dp);
    struct dirent *de;
    char **names = NULL;
    int n = 0, cap = 0;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, sizeof *names * cap);
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(dp);
    for (int i = 0; i < n; i++) {
        remove_tree(dirfd, names[i]);
        free(names[i]);
    }
    free(names);
}

/* Writes the durable content of file `ino` as `name` in `stagefd`. */
static void build_file(int stagefd, const char *name, uint64_t ino) {
    struct where *w = where_find(ino);
    struct stat st = {0};
    mode_t perm = 0644;
    int src = -1;
    if (w && fstatat(w->dirfd, w->path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        perm = st.st_mode & 07777;
        src = openat(w->dirfd, w->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    int out = openat(stagefd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, perm);
    if (out < 0) {
        logf_("cut: cannot create %s: %s", name, strerror(errno));
        if (src >= 0) close(src);
        return;
    }
    fchmod(out, perm);
    struct fstate *f = file_find(ino);
    if (f && f->mode == SAVED) {
        char sname[64];
        saved_name(sname, sizeof sname, ino);
        int s = openat(shadow_fd, sname, O_RDONLY | O_CLOEXEC);
        if (s >= 0) {
            copy_bytes(s, out, -1);
            close(s);
        }
    } else if (src >= 0) {
        copy_bytes(src, out, f && f->mode == PREFIX ? f->dsize : -1);
    } else {
        logf_("cut: inode %llu (%s) has no source; restored empty", (unsigned long long)ino, name);
    }
    if (src >= 0) close(src);
    close(out);
}

static void build_dir(uint64_t ino, int stagefd) {
    struct dstate *d = dir_find(ino);
    struct dent *ents = NULL;
    int n = 0, owned = 0;
    if (d) {
        ents = d->ents;
        n = d->n;
    } else {
        struct where *w = where_find(ino);
        int dfd = w ? openat(w->dirfd, w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (ino == 0 || dfd < 0) return;
        list_live(dfd, &ents, &n);
        close(dfd);
        owned = 1;
    }
    for (int i = 0; i < n; i++) {
        struct dent *e = &ents[i];
        if (e->type == DT_DIR) {
            mode_t perm = 0755;
            struct dstate *cd = dir_find(e->ino);
            struct where *w = where_find(e->ino);
            struct stat st;
            if (cd) perm = cd->perm;
            else if (w && fstatat(w->dirfd, w->path, &st, AT_SYMLINK_NOFOLLOW) == 0) perm = st.st_mode & 07777;
            if (mkdirat(stagefd, e->name, perm) != 0) continue;
            int cfd = openat(stagefd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cfd < 0) continue;
            fchmod(cfd, perm);
            build_dir(e->ino, cfd);
            close(cfd);
        } else if (e->type == DT_LNK) {
            if (symlinkat(e->target ? e->target : "", stagefd, e->name) != 0) logf_("cut: symlink %s: %s", e->name, strerror(errno));
        } else {
            build_file(stagefd, e->name, e->ino);
        }
    }
    if (owned) {
        struct dstate tmp = {.ents = ents, .n = n};
        dir_free(&tmp);
    }
}

/* The power cut. Called with `mu` held. */
static void cut(void) {
    struct stat root;
    fstat(backing_fd, &root);
    where_add(root.st_ino, backing_fd, ".");
    index_live(backing_fd, ".");
    index_live(shadow_fd, ".");
    remove_tree(shadow_fd, "stage");
    if (mkdirat(shadow_fd, "stage", 0755) != 0) {
        logf_("cut: cannot make the staging folder: %s", strerror(errno));
        return;
    }
    int stagefd = openat(shadow_fd, "stage", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    build_dir(root.st_ino, stagefd);
    empty_folder(backing_fd);
    int fd = dup(stagefd);
    DIR *dp = fdopendir(fd);
    struct dirent *de;
    while (dp && (de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            if (renameat(stagefd, de->d_name, backing_fd, de->d_name) != 0) logf_("cut: move %s: %s", de->d_name, strerror(errno));
    if (dp) closedir(dp);
    close(stagefd);
    empty_folder(shadow_fd);
    for (int i = 0; i < nlive; i++) free(live[i].path);
    nlive = 0;
    for (int i = 0; i < ndirs; i++) dir_free(&dirs[i]);
    ndirs = 0;
    nfiles = 0;
    generation++;
    cuts++;
    pthread_cond_broadcast(&thaw_cv);
    logf_("cut %lu done", cuts);
}

/* ---- operations ---- */

#define ENTER(path)                                                                        \
    pthread_mutex_lock(&mu);                                                               \
    if (dead && !((path) && !strcmp((path), "/"))) {                                       \
        pthread_mutex_unlock(&mu);                                                         \
        return -EIO;                                                                       \
    }
#define LEAVE(r)                \
    do {                        \
        int r_ = (r);           \
        pthread_mutex_unlock(&mu); \
        return r_;              \
    } while (0)

static int is_control(const char *path) { return path && !strcmp(path, CONTROL); }

static void *pl_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    cfg->use_ino = 0;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->direct_io = 1;
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 1;
    cfg->kernel_cache = 0;
    return NULL;
}

static int pl_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    if (is_control(path)) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        st->st_size = 0;
        return 0;
    }
    ENTER(path);
    int r = fi ? fstat((int)fi->fh, st) : fstatat(backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
    LEAVE(r == 0 ? 0 : -errno);
}

static int pl_readlink(const char *path, char *buf, size_t size) {
    ENTER(path);
    ssize_t n = readlinkat(backing_fd, rel(path), buf, size - 1);
    if (n < 0) LEAVE(-errno);
    buf[n] = 0;
    LEAVE(0);
}

static int pl_opendir(const char *path, struct fuse_file_info *fi) {
    ENTER(path);
    int fd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) LEAVE(-errno);
    fi->fh = (uint64_t)fd;
    LEAVE(0);
}

static int pl_releasedir(const char *path, struct fuse_file_info *fi) {
    (void)path;
    close((int)fi->fh);
    return 0;
}

static int pl_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
    (void)off, (void)flags;
    ENTER(path);
    int fd = dup((int)fi->fh);
    if (fd < 0) LEAVE(-errno);
    DIR *dp = fdopendir(fd);
    if (!dp) {
        close(fd);
        LEAVE(-errno);
    }
    rewinddir(dp);
    struct dirent *de;
    while ((de = readdir(dp))) {
        struct stat st = {.st_ino = de->d_ino, .st_mode = (mode_t)de->d_type << 12};
        if (fill(buf, de->d_name, &st, 0, 0)) break;
    }
    closedir(dp);
    LEAVE(0);
}

static int pl_mkdir(const char *path, mode_t mode) {
    ENTER(path);
    int r = before_parent_change(path);
    if (r < 0) LEAVE(r);
    if (mkdirat(backing_fd, rel(path), mode) != 0) LEAVE(-errno);
    struct stat st;
    if (fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0) dir_forget(st.st_ino);
    LEAVE(0);
}

static int pl_unlink(const char *path) {
    ENTER(path);
    int r = before_parent_change(path);
    if (r == 0) r = keep_orphan(path);
    if (r < 0) LEAVE(r);
    LEAVE(unlinkat(backing_fd, rel(path), 0) == 0 ? 0 : -errno);
}

static int pl_rmdir(const char *path) {
    ENTER(path);
    int dfd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) LEAVE(-errno);
    struct dent *ents;
    int n;
    int r = list_live(dfd, &ents, &n);
    close(dfd);
    if (r < 0) LEAVE(r);
    struct dstate tmp = {.ents = ents, .n = n};
    dir_free(&tmp);
    if (n > 0) LEAVE(-ENOTEMPTY);
    r = before_parent_change(path);
    if (r == 0) r = before_dir_change(path);
    if (r < 0) LEAVE(r);
    struct stat st;
    if (fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) != 0) LEAVE(-errno);
    /* Moved into the shadow folder rather than removed, so its inode number is not reused. */
    char name[64];
    rmdir_name(name, sizeof name, st.st_ino);
    if (renameat(backing_fd, rel(path), shadow_fd, name) != 0) LEAVE(-errno);
    dir_find(st.st_ino)->removed = 1;
    LEAVE(0);
}

static int pl_symlink(const char *target, const char *path) {
    ENTER(path);
    int r = before_parent_change(path);
    if (r < 0) LEAVE(r);
    LEAVE(symlinkat(target, backing_fd, rel(path)) == 0 ? 0 : -errno);
}

static int pl_rename(const char *from, const char *to, unsigned int flags) {
    ENTER(from);
    if (flags & RENAME_EXCHANGE) LEAVE(-EINVAL);
    int r = before_parent_change(from);
    if (r == 0) r = before_parent_change(to);
    if (r == 0) r = keep_orphan(to);
    if (r < 0) LEAVE(r);
    struct stat st;
    if (fstatat(backing_fd, rel(to), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        r = before_dir_change(to);
        if (r < 0) LEAVE(r);
        dir_find(st.st_ino)->removed = 1;
    }
    LEAVE(renameat2(backing_fd, rel(from), backing_fd, rel(to), flags) == 0 ? 0 : -errno);
}

static int pl_link(const char *from, const char *to) {
    ENTER(from);
    int r = before_parent_change(to);
    if (r < 0) LEAVE(r);
    LEAVE(linkat(backing_fd, rel(from), backing_fd, rel(to), 0) == 0 ? 0 : -errno);
}

static int pl_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    ENTER(path);
    int r = fi ? fchmod((int)fi->fh, mode) : fchmodat(backing_fd, rel(path), mode, 0);
    LEAVE(r == 0 ? 0 : -errno);
}

static int pl_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
    ENTER(path);
    int r = fi ? fchown((int)fi->fh, uid, gid) : fchownat(backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
    LEAVE(r == 0 ? 0 : -errno);
}

static int pl_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    ENTER(path);
    int fd = fi ? (int)fi->fh : openat(backing_fd, rel(path), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) LEAVE(-errno);
    struct stat st;
    int r = fstat(fd, &st) == 0 ? 0 : -errno;
    if (r == 0) r = before_file_change(fd, st.st_ino, st.st_size, size < st.st_size ? size : st.st_size);
    if (r == 0 && ftruncate(fd, size) != 0) r = -errno;
    if (!fi) close(fd);
    LEAVE(r);
}

static int pl_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    ENTER(path);
    int r = fi ? futimens((int)fi->fh, tv) : utimensat(backing_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW);
    LEAVE(r == 0 ? 0 : -errno);
}

static int open_backing(const char *path, struct fuse_file_info *fi, int create, mode_t mode) {
    int flags = (fi->flags & ~(O_NOFOLLOW | O_EXCL | O_CREAT)) | O_CLOEXEC;
    struct stat st;
    int existed = fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (create && !existed) {
        int r = before_parent_change(path);
        if (r < 0) return r;
    }
    int fd;
    if (existed && (fi->flags & O_TRUNC)) {
        fd = openat(backing_fd, rel(path), (flags & ~O_TRUNC & ~O_ACCMODE) | O_RDWR);
        if (fd < 0) fd = openat(backing_fd, rel(path), flags & ~O_TRUNC);
        if (fd < 0) return -errno;
        int r = before_file_change(fd, st.st_ino, st.st_size, 0);
        if (r < 0 || ftruncate(fd, 0) != 0) {
            int e = r < 0 ? r : -errno;
            close(fd);
            return e;
        }
        close(fd);
        flags &= ~O_TRUNC;
    }
    fd = openat(backing_fd, rel(path), flags | (create ? O_CREAT | (fi->flags & O_EXCL) : 0), mode);
    if (fd < 0) return -errno;
    if (create && !existed && fstat(fd, &st) == 0) file_forget(st.st_ino);
    fi->fh = (uint64_t)fd;
    fi->direct_io = 1;
    return 0;
}

static int pl_open(const char *path, struct fuse_file_info *fi) {
    if (is_control(path)) {
        fi->fh = (uint64_t)-1;
        fi->direct_io = 1;
        return 0;
    }
    ENTER(path);
    LEAVE(open_backing(path, fi, 0, 0));
}

static int pl_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    ENTER(path);
    LEAVE(open_backing(path, fi, 1, mode));
}

static int pl_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    if (is_control(path) || fi->fh == (uint64_t)-1) {
        pthread_mutex_lock(&mu);
        int dirty = 0;
        for (int i = 0; i < nfiles; i++) dirty += files[i].mode != CLEAN;
        char line[256];
        int n = snprintf(line, sizeof line, "generation %lu dead %d frozen %d blocked %lu cuts %lu fsyncs %lu fsyncdirs %lu dirty_files %d dirty_dirs %d\n",
                         generation, dead, frozen, blocked, cuts, fsyncs, fsyncdirs, dirty, ndirs);
        pthread_mutex_unlock(&mu);
        if (off >= n) return 0;
        size_t k = (size_t)(n - off) < size ? (size_t)(n - off) : size;
        memcpy(buf, line + off, k);
        return (int)k;
    }
    ENTER(path);
    ssize_t n = pread((int)fi->fh, buf, size, off);
    LEAVE(n < 0 ? -errno : (int)n);
}

static int control(const char *buf, size_t size) {
    char cmd[512];
    size_t n = size < sizeof cmd - 1 ? size : sizeof cmd - 1;
    memcpy(cmd, buf, n);
    cmd[n] = 0;
    while (n > 0 && (cmd[n - 1] == '\n' || cmd[n - 1] == ' ')) cmd[--n] = 0;
    pthread_mutex_lock(&mu);
    int r = 0;
    if (!strcmp(cmd, "cut")) {
        cut();
    } else if (!strcmp(cmd, "freeze")) {
        frozen = 1;
    } else if (!strcmp(cmd, "thaw")) {
        frozen = 0;
        pthread_cond_broadcast(&thaw_cv);
    } else if (!strncmp(cmd, "arm ", 4) && cmd[4]) {
        free(arm_text);
        arm_text = strdup(cmd + 4);
    } else if (!strcmp(cmd, "revive")) {
        dead = 0;
    } else {
        logf_("unknown command \"%s\" (cut, freeze, thaw, arm TEXT, revive)", cmd);
        r = -EINVAL;
    }
    if (r == 0) logf_("command: %s", cmd);
    pthread_mutex_unlock(&mu);
    return r;
}

static int pl_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    if (is_control(path) || fi->fh == (uint64_t)-1) {
        int r = control(buf, size);
        return r < 0 ? r : (int)size;
    }
    ENTER(path);
    int fd = (int)fi->fh;
    struct stat st;
    if (fstat(fd, &st) != 0) LEAVE(-errno);
    off_t at = (fcntl(fd, F_GETFL) & O_APPEND) ? st.st_size : off;
    int r = before_file_change(fd, st.st_ino, st.st_size, at < st.st_size ? at : st.st_size);
    if (r < 0) LEAVE(r);
    ssize_t n = pwrite(fd, buf, size, off);
    if (n < 0) LEAVE(-errno);
    if (arm_text && memmem(buf, (size_t)n, arm_text, strlen(arm_text))) file_get(st.st_ino)->armed = 1;
    LEAVE((int)n);
}

static int pl_statfs(const char *path, struct statvfs *sv) {
    ENTER(path);
    LEAVE(fstatvfs(backing_fd, sv) == 0 ? 0 : -errno);
}

static int pl_release(const char *path, struct fuse_file_info *fi) {
    (void)path;
    if (fi->fh != (uint64_t)-1) close((int)fi->fh);
    return 0;
}

/* Waits while frozen. Returns 0 to go on, or -EIO when a cut came first (nothing became durable). */
static int wait_thaw(void) {
    unsigned long gen = generation;
    blocked++;
    while (frozen && generation == gen && !dead) pthread_cond_wait(&thaw_cv, &mu);
    blocked--;
    return generation == gen && !dead ? 0 : -EIO;
}

static int pl_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync;
    ENTER(path);
    if (wait_thaw() < 0) LEAVE(-EIO);
    struct stat st;
    if (fstat((int)fi->fh, &st) != 0) LEAVE(-errno);
    fsyncs++;
    struct fstate *f = file_find(st.st_ino);
    int armed = f && f->armed;
    if (f) file_forget(st.st_ino);
    if (armed) {
        logf_("armed text made durable: cutting, then dead until revive");
        free(arm_text);
        arm_text = NULL;
        cut();
        dead = 1;
    }
    LEAVE(0);
}

static int pl_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync;
    ENTER(path);
    if (wait_thaw() < 0) LEAVE(-EIO);
    struct stat st;
    if (fstat((int)fi->fh, &st) != 0) LEAVE(-errno);
    fsyncdirs++;
    struct dstate *d = dir_find(st.st_ino);
    if (d && !d->removed) dir_forget(st.st_ino);
    collect_garbage();
    LEAVE(0);
}

static int pl_access(const char *path, int mask) {
    if (is_control(path)) return 0;
    ENTER(path);
    LEAVE(faccessat(backing_fd, rel(path), mask, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno);
}

static const struct fuse_operations ops = {
    .init = pl_init,
    .getattr = pl_getattr,
    .readlink = pl_readlink,
    .opendir = pl_opendir,
    .readdir = pl_readdir,
    .releasedir = pl_releasedir,
    .mkdir = pl_mkdir,
    .unlink = pl_unlink,
    .rmdir = pl_rmdir,
    .symlink = pl_symlink,
    .rename = pl_rename,
    .link = pl_link,
    .chmod = pl_chmod,
    .chown = pl_chown,
    .truncate = pl_truncate,
    .utimens = pl_utimens,
    .open = pl_open,
    .create = pl_create,
    .read = pl_read,
    .write = pl_write,
    .statfs = pl_statfs,
    .release = pl_release,
    .fsync = pl_fsync,
    .fsyncdir = pl_fsyncdir,
    .access = pl_access,
};

int main(int argc, char *argv[]) {
    if (argc < 4) {
        fprintf(stderr, "usage: powerloss-fs BACKING SHADOW MOUNTPOINT [fuse options]\n"
                        "  BACKING and SHADOW: folders on one file system (SHADOW keeps what a cut restores)\n");
        return 64;
    }
    backing_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (backing_fd < 0) {
        fprintf(stderr, "powerloss-fs: %s: %s\n", argv[1], strerror(errno));
        return 66;
    }
    shadow_path = argv[2];
    mkdir(shadow_path, 0700);
    shadow_fd = open(shadow_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat b, s;
    if (shadow_fd < 0 || fstat(backing_fd, &b) != 0 || fstat(shadow_fd, &s) != 0) {
        fprintf(stderr, "powerloss-fs: %s: %s\n", shadow_path, strerror(errno));
        return 66;
    }
    if (b.st_dev != s.st_dev) {
        fprintf(stderr, "powerloss-fs: %s and %s must be on one file system (hard links)\n", argv[1], shadow_path);
        return 64;
    }
    empty_folder(shadow_fd);
    /* A test that dies leaves no mount behind: SIGTERM ends the loop, and fuse_main unmounts. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char *fargv[64];
    int fargc = 0;
    fargv[fargc++] = argv[0];
    fargv[fargc++] = argv[3];
    fargv[fargc++] = "-f";
    fargv[fargc++] = "-o";
    fargv[fargc++] = "fsname=powerloss,allow_other";
    for (int i = 4; i < argc && fargc < 63; i++) fargv[fargc++] = argv[i];
    fargv[fargc] = NULL;
    return fuse_main(fargc, fargv, &ops, NULL);
}
