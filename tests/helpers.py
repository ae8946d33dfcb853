"""Small builders shared by the tests: run syscalls on a backend session by name."""

from __future__ import annotations

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program, Step

MS_BIND, MS_REC, MS_MOVE = uapi.MS_BIND, uapi.MS_REC, uapi.MS_MOVE
MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE = (uapi.MS_SHARED, uapi.MS_SLAVE,
                                                   uapi.MS_PRIVATE, uapi.MS_UNBINDABLE)


class Runner:
    """Issue syscalls on a session; `r.mount(...)` returns the errno name or 0."""

    def __init__(self, session, pid: int = 1) -> None:
        self.s = session
        self.pid = pid
        self.next_label = 100

    def call(self, name: str, *args, pid: int | None = None, label: int | None = None):
        res = self.s.execute(Step(pid or self.pid, name, args, label=label))
        return res.errno or res.ret

    def tmpfs(self, where: str, flags: int = 0, pid: int | None = None):
        return self.call("mount", "tmpfs", where, "tmpfs", flags, None, pid=pid)

    def bind(self, src: str, dst: str, rec: bool = False, pid: int | None = None):
        return self.call("mount", src, dst, None, MS_BIND | (MS_REC if rec else 0), None, pid=pid)

    def make(self, where: str, flag: int, pid: int | None = None):
        return self.call("mount", None, where, None, flag, None, pid=pid)

    def fork(self, pid: int | None = None) -> int:
        self.next_label += 1
        return self.call("fork", pid=pid, label=self.next_label)

    def table(self, pid: int | None = None) -> list[tuple[str, str]]:
        """(mountpoint, optional fields) per mountinfo line."""
        rows = []
        for line in self.s.mountinfo(pid or self.pid).splitlines():
            left = line.split(" - ")[0].split()
            rows.append((left[4], " ".join(left[6:])))
        return rows


def model(dirs=("/a", "/b", "/c", "/d")) -> Runner:
    return Runner(ModelBackend().start(Program(start_dirs=list(dirs))))


def qemu_alive(pid: int) -> bool:
    """Whether process *pid* still exists and is not a zombie (/proc/<pid>/stat state)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kernel_agrees(live, prog: Program) -> list:
    """Run *prog* on the model and on the live kernel step by step, fail with the first
    divergence (results and tables), and return the model's results, so that a test can
    also say which calls it meant to fail did fail."""
    from mountsim.differential import run_pair
    with live.start(prog) as kernel:
        div = run_pair(prog, ModelBackend().start(prog), kernel, with_tables=True)
    assert div is None, div.describe()
    session = ModelBackend().start(prog)
    return [session.execute(s) for s in prog.steps]

