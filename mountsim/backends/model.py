"""The model backend: runs Steps on a simulated kernel. Model-only.

The model uses the trace's own numbers directly: a task's pid is the trace pid, and a call
that creates an fd installs it at the trace's number (Step.label) when that slot is free.
"""

from __future__ import annotations

import errno as _errno
from typing import Any

import attrs

from ..errors import KernelError, TraceError
from ..machine import BadCopy, BadMountinfo, boot
from ..namespace import mntput, put_mnt_ns
from ..proc_namespace import mountinfo
from ..syscalls import dispatch, is_modelled
from ..namei import user_path_at
from ..syscalls.file import close_fd, set_mm_exe_file
from ..user_namespace import exec_creds
from ..task import File
from ..trace.program import Program, Result, Step
from ..uapi import errno_name
from ..versions import Semantics, semantics


class UnknownPid(Exception):
    """A step names a pid the model has no process for."""


class ModelSession:
    """A simulated machine executing one program."""

    def __init__(self, program: Program, sem: Semantics | None = None,
                 start_caps: dict[str, int] | None = None) -> None:
        self.sem = sem or semantics(program.kernel)
        try:
            self.k, _ = boot(self.sem, program.main_pid, program.start_mountinfo,
                             program.start_dirs, program.start_contents_known,
                             program.start_unknown, program.start_copy,
                             program.start_caps if program.start_caps is not None else start_caps)
        except BadCopy as e:                    # a copy listing that is not the table's
            raise TraceError(program.start_copy_file or program.file,
                             program.start_copy_lines[0] if program.start_copy_lines else 0,
                             f"start-copy: {e}") from None
        except BadMountinfo as e:               # a start table parse.py could not judge alone
            line = program.start_mountinfo_lines[0] if program.start_mountinfo_lines else 0
            raise TraceError(program.file, line, f"start-mountinfo: {e}") from None
        self.k.contents_unknown = program.filtered
        self.last_error: KernelError | None = None   # why the last failing call failed

    def task(self, pid: int):
        t = self.k.tasks.get(pid)
        if t is None or not t.alive:
            raise UnknownPid(pid)
        return t

    def execute(self, step: Step) -> Result:
        task = self.task(step.pid)
        if step.name in ("exit", "exit_group"):
            self.exit(task)
            return Result(0)
        if not is_modelled(step.name):
            return Result(-1, "ENOSYS")
        self.last_error = None
        self.k.last_out = None
        self.k.recorded = step.result             # the oracle for unknown contents (fs.decide())
        self.k.recorded_call = step.name
        if step.result is not None and step.out is not None and step.name in ("readlink", "readlinkat"):
            self.k.recorded = attrs.evolve(step.result, out=step.out)   # the recorded link body
        try:
            ret = dispatch(self.k, task, step.name, step.args, step.label)
        except KernelError as e:
            self.last_error = e
            return Result(-1, errno_name(e.errno))
        return Result(ret, out=self.k.last_out)

    def exit(self, task) -> None:
        """do_exit(): drop files, fs_struct and the namespace reference. The init of a pid
        namespace takes every process of it (and of namespaces nested in it) along
        (zap_pid_ns_processes())."""
        if not task.alive:
            return
        task.alive = False
        pid_ns = task.pid_ns
        if pid_ns is not None and pid_ns.init == task.pid and pid_ns.parent is not None:
            pid_ns.adding = False                     # disable_pid_allocation()
            for other in list(self.k.tasks.values()):
                if other.alive and other.pid_ns is not None and pid_ns.contains(other.pid_ns):
                    self.exit(other)
        task.files.users -= 1
        if task.files.users == 0:
            for fd in list(task.files.fds):
                close_fd(self.k, task, fd)
        set_mm_exe_file(self.k, task, None)          # exit_mm()
        task.fs.users -= 1
        if task.fs.users == 0:
            task.fs.release()
            mntput(self.k, task.fs.root.mnt)       # exit_fs(): path_put() of root and pwd
            mntput(self.k, task.fs.pwd.mnt)
        put_mnt_ns(self.k, task.mnt_ns)

    def forget_fd(self, pid: int, fd: int) -> None:
        """A call the model does not know (pipe2, dup3, openat2, …) put another file at *fd*:
        the kernel had closed what the model still holds there (dup2's own close, or an exec's
        close-on-exec the model does not see), so close it now (Model-only: close_fd(),
        done late) and let later uses of the number be noted as unknown."""
        t = self.k.tasks.get(pid)
        if t is None or not t.alive:
            return
        if fd in t.files.fds:
            close_fd(self.k, t, fd)
        t.files.unknown.add(fd)

    def unknown_fd_closed(self, pid: int, fd: int) -> None:
        """The recording closed *fd*, a number the model knows only as open (forget_fd())."""
        t = self.k.tasks.get(pid)
        if t is not None:
            t.files.unknown.discard(fd)

    def exec_done(self, pid: int, dfd: int, name: str) -> None:
        """A successful execve/execveat, which the model does not run: remember the file the
        process now runs (begin_new_exec() -> set_mm_exe_file()), for /proc/<pid>/exe and
        its busy mount; execveat(fd, "", AT_EMPTY_PATH) runs the file of *fd*. Unknown
        contents decide as for a call that succeeded. Then the fd table becomes the
        process's own (unshare_files()), it enters its time namespace for children, its
        capabilities are recomputed (exec_creds()) and its close-on-exec fds are closed
        (do_close_on_exec())."""
        t = self.k.tasks.get(pid)
        if t is None or not t.alive:
            return
        self.k.recorded, self.k.recorded_call = Result(0), "execve"
        try:
            if name == "":
                f = t.files.fds.get(dfd)
                p = f.path if f is not None else None
            else:
                p = user_path_at(self.k, t, dfd, name)
        except KernelError:
            p = None
        finally:
            self.k.recorded = None
        set_mm_exe_file(self.k, t, File("path", p) if p is not None else None)
        if t.files.users > 1:                  # unshare_files()
            t.files.users -= 1
            t.files = t.files.copy()
        t.time_ns = t.time_ns_for_children      # exec_task_namespaces() -> timens_on_fork()
        t.exec_cred = t.cred                   # its set-id bits undecided (cred._setid_exec())
        exec_creds(t)
        for fd in sorted(t.files.cloexec):      # do_close_on_exec()
            if fd in t.files.fds:
                close_fd(self.k, t, fd)
        t.files.cloexec.clear()

    def has_fd(self, pid: int, fd: int) -> bool:
        t = self.k.tasks.get(pid)
        return t is not None and fd in t.files.fds

    def mountinfo(self, pid: int) -> str:
        return mountinfo(self.task(pid))

    def pids(self) -> list[int]:
        return [p for p, t in self.k.tasks.items() if t.alive]

    def close(self) -> None:
        pass


class ModelBackend:
    name = "model"

    def __init__(self, kernel: str | None = None, profile: str | None = None,
                 start_caps: dict[str, int] | None = None) -> None:
        self.kernel = kernel
        self.profile = profile        # a versions.PROFILES name overriding the row's default
        # the first process's capability sets where a program names none: the real
        # kernel's it is compared with (`for_real()`); None: this machine's
        self.start_caps = start_caps

    @classmethod
    def for_real(cls, real: Any, kernel: str | None = None) -> ModelBackend:
        """The model to compare with the backend *real*: its first process starts with the
        capability sets *real*'s does (a VM guest's root has them all; this machine's root
        may lack some)."""
        return cls(kernel, start_caps=getattr(real, "start_caps", None))

    def unavailable(self) -> str | None:
        return None

    def start(self, program: Program) -> ModelSession:
        sem = semantics(self.kernel or program.kernel)
        if self.profile is not None:
            sem = attrs.evolve(sem, profile=self.profile)
        return ModelSession(program, sem, self.start_caps)


__all__ = ["ModelBackend", "ModelSession", "UnknownPid", "_errno"]
