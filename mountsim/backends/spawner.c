/*
 * The live backend's sandbox spawner and every sandbox's init (pid 1), as one small
 * program. Model-only: it drives the real kernel; no kernel function is mirrored.
 *
 * Why native: a sandbox init that is a fork of a Python interpreter costs the machine what
 * the interpreter holds (page tables copied at the fork, a copy-on-write fault for every
 * page the init then touches, all of it torn down at its exit): 46% of the CPU of an
 * empty live program, measured with `perf record -a` (README, Performance). A fork of
 * this program costs a few pages. The trace's processes stay Python (sandbox.py).
 *
 * Started once per live backend by the controller (posix_spawn), so that every init it
 * clones with CLONE_PARENT is the controller's child, which reaps it (live.py). Fd 3 is a
 * unix socket to the zygote: each request is one byte carrying (SCM_RIGHTS) the read end
 * of the new sandbox's lifeline, a pipe whose write end the trace's processes hold; each
 * reply is struct reply { host pid of the init, 0 or the errno of its set-up }. The
 * spawner exits when the zygote is gone (EOF).
 *
 * An init: pid 1 of a new pid namespace (CLONE_NEWPID). Before it answers it leaves the
 * host's mount table for a private namespace of its own whose root is a fresh tmpfs (the
 * steps of the sandbox's own set-up, sandbox._setup_sandbox()): so /proc/1/root and
 * /proc/1/ns/mnt, seen from a proc a trace mounts in the sandbox, name nothing of the
 * host's. Then it only reaps: orphans of the sandbox are reparented to it (the trace's
 * main process is the zygote's child, forked into this pid namespace). It exits once the
 * lifeline has no writer left, i.e. every sandbox process is gone (they all hold it;
 * a trace cannot close it: its fds are mapped, sandbox.py); the controller ends a sandbox
 * earlier by SIGKILL to the init, which kills the whole pid namespace
 * (zap_pid_ns_processes()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"

enum { ZYGOTE = 3 };

struct reply {
	int32_t pid;
	int32_t err;
};

/*
 * Each step as sandbox._setup_sandbox() does it; 0 or the errno of the first that fails.
 * The init keeps a namespace of its own rather than making the sandbox's for the main
 * process to enter (which would spare that process the copy and detach of the host's
 * table): a process left in the sandbox's namespace keeps it alive after the trace's
 * processes have left it (unshare), so their copies of its shared mounts would stay
 * slaves of its peer groups, where the model, which has no such process, makes them
 * private (the campaign found it at once: `master:1` on live only).
 */
static int isolate(void)
{
	if (unshare(CLONE_NEWNS))
		return errno;
	/* before anything is mounted: no mount event can propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return errno;
	if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=4k,nr_inodes=8"))
		return errno;
	if (mkdir("/tmp/.put_old", 0700))
		return errno;
	if (syscall(SYS_pivot_root, "/tmp", "/tmp/.put_old"))
		return errno;
	if (chdir("/"))
		return errno;
	if (umount2("/.put_old", MNT_DETACH))
		return errno;
	if (rmdir("/.put_old"))
		return errno;
	return 0;
}

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
	errno = saved;
}

static char *argv0;                    /* ours: an init renames itself in `ps` too */

static void init_main(int status_fd, int lifeline_fd)
{
	struct sigaction sa;
	struct pollfd lifeline = { .fd = lifeline_fd, .events = POLLIN };
	int err;

	close(ZYGOTE);
	signal(SIGINT, SIG_IGN);        /* Ctrl-C is the controller's business */
	prctl(PR_SET_NAME, "mountsim-init", 0, 0, 0);
	if (argv0 && strlen(argv0) >= strlen("mountsim-init"))
		strcpy(argv0, "mountsim-init");
	err = isolate();
	if (write(status_fd, &err, sizeof(err)) != sizeof(err) || err)
		_exit(1);
	close(status_fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	for (;;) {
		reap(0);
		/* POLLHUP: no writer left. The timeout reaps what a lost SIGCHLD left behind. */
		if (poll(&lifeline, 1, 1000) > 0 && lifeline.revents) {
			reap(0);
			_exit(0);
		}
	}
}

/* Clone one init; its host pid and how its set-up went. */
static struct reply spawn(int lifeline_fd)
{
	struct reply r = { 0, 0 };
	int status[2];
	pid_t pid;

	if (pipe2(status, O_CLOEXEC)) {
		r.err = errno;
		return r;
	}
	pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		close(status[0]);
		init_main(status[1], lifeline_fd);
	}
	close(status[1]);
	if (pid < 0)
		r.err = errno;
	else if (read(status[0], &r.err, sizeof(r.err)) != sizeof(r.err))
		r.err = EIO;                    /* it died before it could say */
	r.pid = pid < 0 ? 0 : pid;
	close(status[0]);
	return r;
}

int main(int argc, char **argv)
{
	int fd;

	argv0 = argc > 0 ? argv[0] : NULL;
	prctl(PR_SET_NAME, "mountsim-spawn", 0, 0, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	while ((fd = recv_byte_fd(ZYGOTE)) >= 0) {    /* a request: the lifeline's read end */
		struct reply r = spawn(fd);

		close(fd);
		if (write(ZYGOTE, &r, sizeof(r)) != sizeof(r))
			return 1;
	}
	return 0;
}
