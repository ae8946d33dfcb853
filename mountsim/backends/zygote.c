/*
 * The live backend's zygote loop, loaded into the zygote (a Python interpreter) as a shared
 * library. Model-only: it drives the real kernel; no kernel function is mirrored.
 *
 * Why native: every trace's main process is a fork of the zygote, and after each fork
 * every page the zygote writes is copied (the child still shares it). The Python loop
 * that served a request (unpickling it, the spawner exchange through the socket module,
 * ctypes for setns, pickling the answer) wrote ~118 pages per sandbox, 0.65 ms of CPU
 * (README, Performance); this loop writes its stack and a few libc pages.
 *
 * zygote_serve() serves requests until one makes a main process, and returns 0 in it
 * (*out: its channel and its lifeline's write end), or -1 once the controller has gone
 * (EOF). A request from the controller (fd CHAN) is one byte carrying (SCM_RIGHTS) the
 * new main process's end of its channel. For each: a lifeline pipe; its read end to the
 * spawner (spawner.c), which answers the new init's host pid or the errno of its set-up;
 * setns() into the init's pid namespace (its pid_for_children), fork, setns() back (or
 * exit: our next children would be made in that sandbox). The answer to the controller is
 * struct answer: the init's host pid (0 if none) and, if the sandbox failed, an errno
 * and the step that failed. The Python runtime's fork hooks run as os.fork() runs them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

enum { STEP_OK, STEP_INIT, STEP_NS, STEP_SETNS, STEP_FORK };

struct answer {                 /* to the controller (live.py: ZYGOTE_ANSWER) */
	int32_t init;
	int32_t err;
	int32_t step;
};

struct reply {                  /* from the spawner (spawner.c) */
	int32_t pid;
	int32_t err;
};

struct out {
	int32_t sock;
	int32_t life;
};

/* The spawner's answer for a new init holding *life* (the lifeline's read end). */
static struct reply ask_spawner(int spawner, int life)
{
	struct reply r;

	if (send_byte_fd(spawner, 's', life)
	    || recv(spawner, &r, sizeof(r), MSG_WAITALL) != sizeof(r))
		_exit(1);               /* the spawner is gone: so are we */
	return r;
}

/* Record that *step* failed with *error* in the answer, and go to *label* to clean up. */
#define FAILED(step_, error, label) do { a.err = (error); a.step = (step_); goto label; } while (0)

int zygote_serve(int chan, int spawner, int own_pid_ns, struct out *out,
		 void (*before)(void), void (*after_parent)(void), void (*after_child)(void))
{
	for (;;) {
		struct answer a = { 0, 0, STEP_OK };
		struct reply r;
		char path[64];
		int life[2], ns = -1, sock = recv_byte_fd(chan);
		pid_t pid;

		if (sock == -1)
			return -1;
		if (sock == -2)
			FAILED(STEP_OK, EINVAL, answer);
		if (pipe2(life, O_CLOEXEC))
			FAILED(STEP_INIT, errno, done);
		r = ask_spawner(spawner, life[0]);
		close(life[0]);
		a.init = r.pid;
		if (r.err)
			FAILED(STEP_INIT, r.err, done_life);
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", r.pid);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			FAILED(STEP_NS, errno, done_life);
		if (setns(ns, CLONE_NEWPID))
			FAILED(STEP_SETNS, errno, done_ns);
		before();
		pid = fork();
		if (pid == 0) {
			after_child();
			close(chan);
			close(spawner);
			close(own_pid_ns);
			close(ns);
			out->sock = sock;
			out->life = life[1];
			return 0;
		}
		after_parent();
		if (setns(own_pid_ns, CLONE_NEWPID))
			_exit(1);
		if (pid < 0) {
			a.err = errno;
			a.step = STEP_FORK;
		}
done_ns:
		close(ns);
done_life:
		close(life[1]);
done:
		close(sock);
answer:
		if (send(chan, &a, sizeof(a), MSG_NOSIGNAL) != sizeof(a))
			return -1;
	}
}
