/* mountsim bench: the kernel side. Compiled at run time by mountsim/bench/kernel.py.
 *
 *   driver SCENARIO N REPS [OPS]
 *
 * SCENARIO: build   N tmpfs mounts under /t, then (per OPS, a comma list; default all)
 *                   mountinfo, open_tree, unshare, nsexit, umount_l
 *           shared  a shared tmpfs /a with N peers (bind mounts), then one tmpfs on /a/x
 *           slave   the same with N slaves of /a
 *           bind_umount  N pairs of mount(/a, /b, MS_BIND) + umount2(/b, 0)
 *           churn   N forked children, each: unshare(CLONE_NEWNS) of the sandbox's table,
 *                   / made rprivate, a tmpfs on /m bound on /n, both unmounted, exit (the
 *                   namespace dies): what a fresh sandbox per program costs the kernel.
 *                   Several drivers at once measure how far that scales over CPUs.
 *
 * Every repetition runs in a forked child that first leaves the host's mount table:
 * unshare(CLONE_NEWNS), then mount(NULL, "/", MS_REC|MS_PRIVATE) before anything else is
 * mounted, then a tmpfs root by pivot_root (the old root detached), /proc mounted on it.
 * If any of these fails the child exits before mounting anything else. The parent never
 * changes namespace. Times: clock_gettime(CLOCK_MONOTONIC) around exactly the operation.
 * Output: one JSON object per line on stdout:
 *   {"op": "...", "n": N, "rep": R, "sec": S}      or {"error": "...", "errno": E}
 * and, with "mem" in OPS, {"mem": "slab_kb", ...} (the Slab growth over the build).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif

static const char *ops = NULL;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fail(const char *what) {
    int e = errno;
    printf("{\"error\": \"%s: %s\", \"errno\": %d}\n", what, strerror(e), e);
    fflush(stdout);
    _exit(1);
}

static void emit(const char *op, long n, int rep, double sec) {
    printf("{\"op\": \"%s\", \"n\": %ld, \"rep\": %d, \"sec\": %.9f}\n", op, n, rep, sec);
    fflush(stdout);
}

static long meminfo_kb(const char *key) {
    char line[256];
    long v = -1;
    size_t l = strlen(key);
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, l) && line[l] == ':') { v = atol(line + l + 1); break; }
    fclose(f);
    return v;
}

/* Is op in the comma list OPS? (no list: every op but the opt-in "mem") */
static int want(const char *op) {
    if (!ops || !*ops) return strcmp(op, "mem") != 0;
    size_t l = strlen(op);
    for (const char *p = ops; (p = strstr(p, op)); p += l)
        if ((p == ops || p[-1] == ',') && (p[l] == ',' || p[l] == 0)) return 1;
    return 0;
}

/* Leave the host: private namespace, tmpfs root, /proc. Never returns on failure. */
static void sandbox(void) {
    if (unshare(CLONE_NEWNS) < 0) fail("unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make / rprivate");
    /* from here on nothing mounted or unmounted can propagate to the host */
    if (mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0) fail("mount tmpfs on /tmp");
    if (mkdir("/tmp/.old", 0700) < 0) fail("mkdir /tmp/.old");
    if (syscall(SYS_pivot_root, "/tmp", "/tmp/.old") < 0) fail("pivot_root");
    if (chdir("/") < 0) fail("chdir /");
    if (umount2("/.old", MNT_DETACH) < 0) fail("detach the old root");
    if (rmdir("/.old") < 0) fail("rmdir /.old");
    if (mkdir("/proc", 0755) < 0) fail("mkdir /proc");
    if (mount("proc", "/proc", "proc", 0, NULL) < 0) fail("mount proc");
}

static void mkmount(const char *dir) {
    if (mkdir(dir, 0755) < 0) fail("mkdir");
    if (mount("tmpfs", dir, "tmpfs", 0, NULL) < 0) fail("mount tmpfs");
}

static void build(long n, int rep) {
    char path[64];
    mkmount("/t");
    long slab0 = want("mem") ? meminfo_kb("Slab") : 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/t/m%ld", i);
        if (mkdir(path, 0755) < 0) fail("mkdir");
        if (mount("tmpfs", path, "tmpfs", 0, NULL) < 0) fail("mount tmpfs");
    }
    emit("mkdir_mount", n, rep, now() - t0);
    if (want("mem"))       /* machine-wide, so only indicative: other jobs allocate too */
        printf("{\"mem\": \"slab_kb\", \"n\": %ld, \"rep\": %d, \"value\": %ld}\n",
               n, rep, meminfo_kb("Slab") - slab0);

    if (want("mountinfo")) {
        static char buf[1 << 20];
        long total = 0;
        ssize_t r;
        t0 = now();
        int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open mountinfo");
        while ((r = read(fd, buf, sizeof buf)) > 0) total += r;
        if (r < 0) fail("read mountinfo");
        close(fd);
        double t = now() - t0;
        if (total <= 0) fail("empty mountinfo");
        emit("mountinfo", n, rep, t);
    }
    if (want("open_tree")) {
        t0 = now();
        int fd = syscall(SYS_open_tree, AT_FDCWD, "/t", OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
        if (fd < 0) fail("open_tree");
        close(fd);           /* the detached copy is dissolved before close() returns */
        emit("open_tree", n, rep, now() - t0);
    }
    if (want("unshare") || want("nsexit")) {
        int old = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);   /* keeps the old one alive */
        if (old < 0) fail("open /proc/self/ns/mnt");
        t0 = now();
        if (unshare(CLONE_NEWNS) < 0) fail("unshare(CLONE_NEWNS) of the table");
        emit("unshare", n, rep, now() - t0);
        t0 = now();
        if (setns(old, CLONE_NEWNS) < 0) fail("setns back");   /* drops the copy: namespace exit */
        emit("nsexit", n, rep, now() - t0);
        close(old);
    }
    if (want("umount_l")) {
        t0 = now();
        if (umount2("/t", MNT_DETACH) < 0) fail("umount -l /t");
        emit("umount_l", n, rep, now() - t0);
    }
}

static void propagation(long n, int rep, int slave) {
    char path[64];
    mkmount("/a");
    if (mount(NULL, "/a", NULL, MS_SHARED, NULL) < 0) fail("make /a shared");
    if (mkdir("/a/x", 0755) < 0) fail("mkdir /a/x");
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/b%ld", i);
        if (mkdir(path, 0755) < 0) fail("mkdir");
        if (mount("/a", path, NULL, MS_BIND, NULL) < 0) fail("bind /a");
        if (slave && mount(NULL, path, NULL, MS_SLAVE, NULL) < 0) fail("make slave");
    }
    double t0 = now();
    if (mount("tmpfs", "/a/x", "tmpfs", 0, NULL) < 0) fail("mount tmpfs on /a/x");
    emit(slave ? "slave" : "shared", n, rep, now() - t0);
}

static void bind_umount(long n, int rep) {
    mkmount("/a");
    if (mkdir("/b", 0755) < 0) fail("mkdir /b");
    double t0 = now();
    for (long i = 0; i < n; i++) {
        if (mount("/a", "/b", NULL, MS_BIND, NULL) < 0) fail("bind");
        if (umount2("/b", 0) < 0) fail("umount");
    }
    emit("bind_umount", n, rep, now() - t0);
}

/* Each child leaves the sandbox's namespace for its own before mounting anything, so its
   mounts cannot reach the sandbox (or, through it, the host). */
static void churn(long n, int rep) {
    if (mkdir("/m", 0755) < 0) fail("mkdir /m");
    if (mkdir("/n", 0755) < 0) fail("mkdir /n");
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) fail("fork");
        if (pid == 0) {
            if (unshare(CLONE_NEWNS) < 0) _exit(10);
            if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) _exit(11);
            if (mount("tmpfs", "/m", "tmpfs", 0, NULL) < 0) _exit(12);
            if (mount("/m", "/n", NULL, MS_BIND, NULL) < 0) _exit(13);
            if (umount2("/n", 0) < 0 || umount2("/m", 0) < 0) _exit(14);
            _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) fail("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { errno = EIO; fail("churn child"); }
    }
    emit("churn", n, rep, now() - t0);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s build|shared|slave|bind_umount|churn N REPS [OPS]\n", argv[0]);
        return 2;
    }
    const char *sc = argv[1];
    long n = atol(argv[2]);
    int reps = atoi(argv[3]);
    if (argc > 4) ops = argv[4];
    if (n < 1 || reps < 1) { fprintf(stderr, "bad N or REPS\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int rep = 0; rep < reps; rep++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            sandbox();
            if (!strcmp(sc, "build")) build(n, rep);
            else if (!strcmp(sc, "shared")) propagation(n, rep, 0);
            else if (!strcmp(sc, "slave")) propagation(n, rep, 1);
            else if (!strcmp(sc, "bind_umount")) bind_umount(n, rep);
            else if (!strcmp(sc, "churn")) churn(n, rep);
            else { errno = EINVAL; fail("unknown scenario"); }
            fflush(stdout);
            _exit(0);          /* the sandbox namespace dies with this process */
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 1; }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
    }
    return 0;
}
