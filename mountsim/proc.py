"""procfs, as far as the mount model needs it: /proc/<pid>/{ns/mnt,ns/user,root,cwd,exe,
fd/N,mountinfo,mounts,uid_map,gid_map,setgroups} (and its other files, by name only),
/proc/self, /proc/thread-self, /proc/sys/kernel/overflow{uid,gid}, /proc/sys/fs/mount-max,
/proc/sys/user/max_*; and nsfs, the filesystem behind namespace files (fs/proc/base.c,
fs/proc/fd.c, fs/proc/namespaces.c, fs/nsfs.c).

`ns/*`, `root`, `cwd`, `exe` and `fd/N` are magic links: looking them up jumps to another path
(the nsfs dentry of the namespace; the task's root or cwd; the open file's path), like
nd_jump_link().
"""

from __future__ import annotations

import errno
from operator import attrgetter
from typing import TYPE_CHECKING

from .errors import KernelError
from .fs import S_IFDIR, S_IFLNK, S_IFREG, Dentry, SuperBlock, decide
from .mount import MNT, MntNamespace
from .task import Path, PidNamespace, Task, find_task_by_pid_ns, pid_nr_ns
from .user_namespace import OtherNamespace, UserNamespace

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import File

IDMAP_FILES = ("uid_map", "gid_map", "setgroups")
_PID_FILES = ("mountinfo", "mounts", "mountstats") + IDMAP_FILES
# The other regular files of /proc/<pid>, as 6.18 lists them here (fs/proc/base.c
# tgid_base_stuff[]): they exist, their contents are not modelled (a replayed read
# answers what was recorded); runc reads cgroup, stat, status and cmdline.
_PID_OTHER_FILES = (
    "arch_status", "autogroup", "auxv", "cgroup", "clear_refs", "cmdline", "comm",
    "coredump_filter", "cpuset", "environ", "io", "ksm_merging_pages", "ksm_stat", "limits",
    "loginuid", "maps", "mem", "numa_maps", "oom_adj", "oom_score", "oom_score_adj",
    "pagemap", "personality", "projid_map", "sched", "schedstat", "sessionid", "smaps",
    "smaps_rollup", "stack", "stat", "statm", "status", "syscall", "timens_offsets", "timers",
    "timerslack_ns", "wchan")
# Entries of the proc root that sandboxes bind over or remount read-only (bwrap: irq, bus,
# sys), as this kernel (6.18, the reference machine's config) has them; their contents are
# not modelled. sysrq-trigger is absent there (no CONFIG_MAGIC_SYSRQ).
_ROOT_DIRS = ("acpi", "bus", "driver", "fs", "irq", "net", "pressure", "sys", "sysvipc", "tty")
# Files inside the static entries that real programs read at start (bwrap: the overflow
# ids); what they contain is not modelled (a replayed read answers what was recorded).
# /proc/sys/user: the per-user-namespace limits (kernel/ucount.c user_table[], as 6.18 lists
# them here; bwrap --unshare-user/--unshare-all reads max_user_namespaces first).
_UCOUNT_LIMITS = ("max_user_namespaces", "max_pid_namespaces", "max_uts_namespaces",
                  "max_ipc_namespaces", "max_net_namespaces", "max_mnt_namespaces",
                  "max_cgroup_namespaces", "max_time_namespaces", "max_inotify_instances",
                  "max_inotify_watches", "max_fanotify_groups", "max_fanotify_marks")
# /proc/sys/kernel and /proc/sys/vm as 6.18 lists them here (without this VM's own
# init_private*): they exist, their contents are not modelled (a replayed read answers
# what was recorded); sandboxes bind over some (firejail: core_pattern, vm/*)
_KERNEL_SYSCTLS = (
    "acct", "arch", "auto_msgmni", "bootloader_type", "bootloader_version",
    "bpf_stats_enabled", "cad_pid", "cap_last_cap", "core_file_note_size_limit", "core_modes",
    "core_pattern", "core_pipe_limit", "core_sort_vma", "core_uses_pid", "ctrl-alt-del",
    "dmesg_restrict", "domainname", "ftrace_dump_on_oops", "ftrace_enabled",
    "hardlockup_all_cpu_backtrace", "hardlockup_panic", "hostname",
    "hung_task_all_cpu_backtrace", "hung_task_check_count", "hung_task_check_interval_secs",
    "hung_task_detect_count", "hung_task_panic", "hung_task_timeout_secs",
    "hung_task_warnings", "io_delay_type", "io_uring_disabled", "io_uring_group",
    "kptr_restrict", "max_lock_depth", "max_rcu_stall_to_panic", "msg_next_id", "msgmax",
    "msgmnb", "msgmni", "ngroups_max", "nmi_watchdog", "ns_last_pid", "numa_balancing",
    "numa_balancing_promote_rate_limit_MBps", "oops_all_cpu_backtrace", "oops_limit",
    "osrelease", "ostype", "overflowgid", "overflowuid", "panic", "panic_on_io_nmi",
    "panic_on_oops", "panic_on_rcu_stall", "panic_on_unrecovered_nmi", "panic_on_warn",
    "panic_print", "panic_sys_info", "perf_cpu_time_max_percent",
    "perf_event_max_contexts_per_stack", "perf_event_max_sample_rate", "perf_event_max_stack",
    "perf_event_mlock_kb", "perf_event_paranoid", "pid_max", "poweroff_cmd",
    "print-fatal-signals", "printk", "printk_delay", "printk_devkmsg", "printk_ratelimit",
    "printk_ratelimit_burst", "randomize_va_space", "real-root-dev", "sched_autogroup_enabled",
    "sched_cfs_bandwidth_slice_us", "sched_deadline_period_max_us",
    "sched_deadline_period_min_us", "sched_rr_timeslice_ms", "sched_rt_period_us",
    "sched_rt_runtime_us", "sem", "sem_next_id", "shm_next_id", "shm_rmid_forced", "shmall",
    "shmmax", "shmmni", "soft_watchdog", "softlockup_all_cpu_backtrace", "softlockup_panic",
    "split_lock_mitigate", "sysctl_writes_strict", "tainted", "task_delayacct", "threads-max",
    "timer_migration", "traceoff_on_warning", "tracepoint_printk", "unknown_nmi_panic",
    "unprivileged_bpf_disabled", "version", "warn_limit", "watchdog", "watchdog_cpumask",
    "watchdog_thresh")
_KERNEL_SYSCTL_DIRS = ("firmware_config", "keys", "pty", "random", "seccomp", "usermodehelper")
_VM_SYSCTLS = (
    "admin_reserve_kbytes", "compact_memory", "compact_unevictable_allowed",
    "compaction_proactiveness", "defrag_mode", "dirty_background_bytes",
    "dirty_background_ratio", "dirty_bytes", "dirty_expire_centisecs", "dirty_ratio",
    "dirty_writeback_centisecs", "dirtytime_expire_seconds", "drop_caches",
    "extfrag_threshold", "hugetlb_optimize_vmemmap", "hugetlb_shm_group", "laptop_mode",
    "legacy_va_layout", "lowmem_reserve_ratio", "max_map_count", "memfd_noexec",
    "min_free_kbytes", "min_slab_ratio", "min_unmapped_ratio", "mmap_min_addr",
    "mmap_rnd_bits", "mmap_rnd_compat_bits", "nr_hugepages", "nr_hugepages_mempolicy",
    "nr_overcommit_hugepages", "numa_stat", "numa_zonelist_order", "oom_dump_tasks",
    "oom_kill_allocating_task", "overcommit_kbytes", "overcommit_memory", "overcommit_ratio",
    "page-cluster", "page_lock_unfairness", "panic_on_oom", "percpu_pagelist_high_fraction",
    "shrink_inodes_with_pagecache", "stat_interval", "stat_refresh", "swappiness",
    "unprivileged_userfaultfd", "user_reserve_kbytes", "vfs_cache_pressure",
    "vfs_cache_pressure_denom", "watermark_boost_factor", "watermark_scale_factor",
    "zone_reclaim_mode")
_FS_SYSCTLS = ("aio-max-nr", "aio-nr", "dentry-negative", "dentry-state", "dir-notify-enable",
               "file-max", "file-nr", "inode-nr", "inode-state", "lease-break-time",
               "leases-enable", "mount-max", "nr_open", "overflowgid", "overflowuid",
               "pipe-max-size", "pipe-user-pages-hard", "pipe-user-pages-soft",
               "protected_fifos", "protected_hardlinks", "protected_regular",
               "protected_symlinks", "suid_dumpable")
_FS_SYSCTL_DIRS = ("binfmt_misc", "epoll", "fanotify", "fuse", "inotify", "mqueue", "quota", "xfs")
_STATIC = {"/sys": dict.fromkeys(("abi", "debug", "dev", "fs", "kernel", "net", "user", "vm"), S_IFDIR),
           "/sys/kernel": {**dict.fromkeys(_KERNEL_SYSCTLS, S_IFREG),
                           **dict.fromkeys(_KERNEL_SYSCTL_DIRS, S_IFDIR)},
           "/sys/vm": dict.fromkeys(_VM_SYSCTLS, S_IFREG),
           # systemd-nspawn binds over boot_id
           "/sys/kernel/random": dict.fromkeys(("boot_id", "entropy_avail", "poolsize",
                                                "urandom_min_reseed_secs", "uuid",
                                                "write_wakeup_threshold"), S_IFREG),
           # /proc/sys/fs as 6.18 lists it here: mount-max is modelled (sysctl.py), the
           # others exist (systemd-nspawn reads nr_open), their contents are not modelled
           "/sys/fs": {**dict.fromkeys(_FS_SYSCTLS, S_IFREG), **dict.fromkeys(_FS_SYSCTL_DIRS, S_IFDIR)},
           "/sys/user": dict.fromkeys(_UCOUNT_LIMITS, S_IFREG)}
_ROOT_FILES = ("buddyinfo", "cgroups", "cmdline", "config.gz", "consoles", "cpuinfo", "crypto",
               "devices", "diskstats", "dma", "execdomains", "filesystems", "interrupts",
               "iomem", "ioports", "kallsyms", "key-users", "keys", "kmsg", "kpagecgroup",
               "kpagecount", "kpageflags", "loadavg", "locks", "meminfo", "misc", "mounts",
               "mtrr", "pagetypeinfo", "partitions", "slabinfo", "softirqs", "stat", "swaps",
               "timer_list", "uptime", "version", "vmallocinfo", "vmstat", "zoneinfo")


class ProcLookup:
    """The lookup hook of one proc superblock (`SuperBlock.dynamic`), with the pid
    namespace the superblock shows (s_fs_info->pid_ns: the mounter's active one,
    proc_init_fs_context()); None is the initial namespace, numbered by the trace's pids."""

    __slots__ = ("k", "pid_ns")

    def __init__(self, k: Kernel, pid_ns: PidNamespace | None) -> None:
        self.k = k
        self.pid_ns = None if pid_ns is None or pid_ns.parent is None else pid_ns

    def __call__(self, dentry: Dentry, name: str) -> Dentry | Path | None:
        return proc_lookup(self.k, dentry, name, self.pid_ns)


def proc_pid_ns(sb: SuperBlock) -> PidNamespace | None:
    """The pid namespace a proc superblock shows (None: the initial one)."""
    dyn = sb.dynamic
    return dyn.pid_ns if isinstance(dyn, ProcLookup) else None


def proc_task(k: Kernel, pid_dir: Dentry) -> Task | None:
    """The live task whose /proc/<nr> directory *pid_dir* is, numbered in its proc
    superblock's pid namespace (proc_pid_lookup() -> find_task_by_pid_ns()); None for any
    other dentry."""
    if not pid_dir.name.isdigit() or pid_dir.is_root or not pid_dir.parent.is_root:
        return None
    t = find_task_by_pid_ns(k.tasks, int(pid_dir.name), proc_pid_ns(pid_dir.sb))
    return t if t is not None and t.alive else None


def proc_self_nr(task: Task, sb: SuperBlock) -> int:
    """What /proc/self names for *task* in this proc: task_tgid_nr_ns() in the superblock's
    pid namespace, 0 when the task is not in it (proc_self_get_link(): -ENOENT)."""
    return pid_nr_ns(task, proc_pid_ns(sb))


def proc_lookup(k: Kernel, dentry: Dentry, name: str,
                pid_ns: PidNamespace | None = None) -> Dentry | Path | None:
    """The lookup hook of a proc superblock: *name* under *dentry*, numbers in *pid_ns*."""
    depth = dentry.path().count("/") if not dentry.is_root else 0
    if dentry.is_root:
        if name in ("self", "thread-self"):
            task = k.current
            nr = pid_nr_ns(task, pid_ns) if task else 0
            return _child(dentry, str(nr), S_IFDIR) if nr else None
        if name.isdigit():
            task = find_task_by_pid_ns(k.tasks, int(name), pid_ns)
            if task is not None:
                return _task_dir(dentry, name) if task.alive else None
        if name.isdigit() and k.recorded is not None and pid_ns is None:
            return _outside_process(dentry, name)
        if name in _ROOT_DIRS:
            return _child(dentry, name, S_IFDIR)
        if name in _ROOT_FILES:
            return _child(dentry, name, S_IFREG)
        return None
    static = _STATIC.get(dentry.path())
    if static is not None:
        return _child(dentry, name, static[name]) if name in static else None
    if in_outside_process(dentry):
        return dentry.lookup(name)           # the recording decides, as in an opaque fs
    if not (dentry if depth == 1 else dentry.parent).name.isdigit():
        return None                          # inside a static root entry: empty
    pid_d = dentry if depth == 1 else dentry.parent
    task = proc_task(k, pid_d)
    if task is None:
        return None
    if depth == 1:
        if name == "ns":
            return _child(dentry, "ns", S_IFDIR)
        if name == "root":
            return task.fs.root
        if name == "cwd":
            return task.fs.pwd
        if name == "exe":                      # proc_exe_link(): mm->exe_file
            return task.exe.path if task.exe is not None else None
        if name in _PID_FILES or name in _PID_OTHER_FILES:
            return _child(dentry, name, S_IFREG)
        if name == "fd":
            return _child(dentry, "fd", S_IFDIR)
        return None
    if depth == 2 and dentry.name == "fd":
        # proc_fd_link(): a magic link to the open file's path (anonymous files: none here)
        f = task.files.fds.get(int(name)) if name.isdigit() else None
        if (f is None and name.isdigit() and int(name) in task.files.unknown
                and k.recorded_call in ("readlink", "readlinkat")):
            return _unknown_fd_link(k, dentry, name)     # read only: where it leads is unknown
        return f.path if f is not None and f.path is not None else None
    if depth == 2 and dentry.name == "ns":
        ns = _task_ns(task, name)
        return k.nsfs_path(ns) if ns is not None else None
    return None


# /proc/<pid>/ns entries (fs/proc/namespaces.c ns_entries[]): what of the task each reads
_NS_ENTRIES = {name: attrgetter(attr) for name, attr in (
    ("mnt", "mnt_ns"), ("user", "cred.user_ns"), ("net", "net_ns"), ("ipc", "ipc_ns"),
    ("uts", "uts_ns"), ("cgroup", "cgroup_ns"), ("time", "time_ns"),
    ("time_for_children", "time_ns_for_children"), ("pid", "pid_ns"),
    ("pid_for_children", "pid_ns_for_children"))}


def _task_ns(task, name: str):
    """The namespace /proc/<pid>/ns/<name> stands for, or None. pid_for_children of a new
    pid namespace whose first process does not exist yet is absent
    (pidns_for_children_get(): no child_reaper)."""
    get = _NS_ENTRIES.get(name)
    ns = get(task) if get is not None else None
    if name == "pid_for_children" and ns is not None and not ns.has_reaper:
        return None
    return ns


def _outside_process(root: Dentry, name: str) -> Dentry | None:
    """/proc/<pid> of a process outside the trace (lsns and ps walk every pid of the
    machine), while a recording is replayed. Model-only: the model knows only the trace's
    processes, so such a directory is one of unknown contents, like an opaque filesystem's:
    the recorded results decide what exists in it (fs.decide()), and what its files and
    links hold or answer (see outside_answer())."""
    d = root.children.get(name)
    if d is None:
        if not decide(root, name, False):
            return None
        d = root.create(name, S_IFDIR)
        d.unknown = d.guessed = True
    return d if d.unknown else None


def _task_dir(root: Dentry, name: str) -> Dentry:
    """/proc/<pid> of a trace process. A number first seen as a process outside the trace
    (its contents guessed from the recording) that a fork of the trace now has is the
    model's again."""
    d = _child(root, name, S_IFDIR)
    if d.unknown:
        d.unknown = d.guessed = False
        d.children = {}
    return d


def in_outside_process(d: Dentry) -> bool:
    """Is *d* in (or is) /proc/<pid> of a process outside the trace? Model-only: the
    recording decides what such a directory holds."""
    while not d.is_root:
        if d.parent.is_root:
            return d.unknown
        d = d.parent
    return False


def outside_answer(k: Kernel, d: Dentry) -> None:
    """An open of a file in /proc/<pid> of a process outside the trace: its checks
    (ptrace_may_access(): EACCES for another's namespace links) are the recording's."""
    rec = k.recorded
    if rec is not None and rec.errno is not None and d.sb.fstype == "proc" and in_outside_process(d):
        raise KernelError(getattr(errno, rec.errno, errno.EACCES),
                          "what the recording answered for a process outside the trace",
                          where="proc_pid_permission")


def _unknown_fd_link(k: Kernel, parent: Dentry, name: str) -> Dentry:
    """/proc/<pid>/fd/N of a descriptor open in the recording whose file the model does not
    know (a pipe, a socket, stdio), for readlink: a link whose body is what the replayed
    call recorded (Model-only; the kernel prints "pipe:[ino]", a path, …). A walk through it
    is ENOENT: the model cannot say where it leads."""
    d = _child(parent, name, S_IFLNK)
    rec = k.recorded
    d.target = rec.out if rec is not None and not rec.errno and isinstance(rec.out, str) else ""
    return d


def _child(parent: Dentry, name: str, kind: str) -> Dentry:
    d = parent.children.get(name)
    if d is None:
        d = parent.create(name, kind)
    return d


def proc_parse_pidns_param(k: Kernel, task: Task, path: str | File, reconfigure: bool) -> PidNamespace:
    """proc's pidns= (6.16): the pid namespace a new proc instance shows, named by a pid
    namespace file. Mirrors fs/proc/root.c proc_parse_pidns_param(): filp_open() of the
    path (or fsconfig's fd), then nsfs and pid checks, then pidns_install()'s permission
    model.

    Errors: EBUSY (a reconfigure: "cannot reconfigure pidns for existing procfs"), the
    path's lookup errors, EINVAL (not an nsfs file, not a pid namespace, not the caller's
    active pid namespace or below it), EPERM (no CAP_SYS_ADMIN over its owner)."""
    from .namei import user_path_at
    from .syscalls.ns import pidns_is_ancestor
    from .uapi import AT_FDCWD
    from .user_namespace import ns_capable
    if reconfigure:
        raise KernelError(errno.EBUSY, "cannot reconfigure pidns for existing procfs",
                          where="proc_parse_param")
    if isinstance(path, str):
        d = user_path_at(k, task, AT_FDCWD, path).dentry
        ns = getattr(d, "ns_ref", None) if d.sb.fstype == "nsfs" else None
    else:                                     # fsconfig(FSCONFIG_SET_FD): the open file
        ns = path.ns if path.kind == "ns" else None
    if ns is None:
        raise KernelError(errno.EINVAL, "pidns argument is not an nsfs file", where="proc_parse_pidns_param")
    if not isinstance(ns, PidNamespace):
        raise KernelError(errno.EINVAL, "pidns argument is not a pidns file", where="proc_parse_pidns_param")
    if not ns_capable(task.cred, ns.user_ns):
        raise KernelError(errno.EPERM, "insufficient permissions to set pidns", where="proc_parse_pidns_param")
    if not pidns_is_ancestor(ns, task.pid_ns):
        raise KernelError(errno.EINVAL, "cannot set pidns to non-descendant pidns", where="proc_parse_pidns_param")
    return ns


def nsfs_dentry(sb: SuperBlock, ns: MntNamespace | UserNamespace | OtherNamespace | PidNamespace) -> Dentry:
    """The nsfs dentry for *ns* (a namespace of any kind), named as
    nsfs_show_path() prints it ("mnt:[4026531841]")."""
    name = f"{ns.kind}:[{ns.inum}]"
    d = sb.root.children.get(name)
    if d is None:
        d = sb.root.create(name, S_IFREG)
        d.ns_ref = ns
    return d


def make_nsfs(k: Kernel):
    """The internal nsfs mount (MNT_INTERNAL, in no namespace), as nsfs_init() makes it."""
    sb = k.new_sb("nsfs", k.init_user_ns)
    m = k.alloc_vfsmnt(sb, sb.root, "nsfs")
    m.flags |= MNT.INTERNAL
    return m


def idmap_target(k: Kernel, dentry: Dentry):
    """For /proc/<pid>/{uid_map,gid_map,setgroups}: (file name, the task), whose user
    namespace proc_id_map_open() pins; None for any other dentry."""
    if dentry.sb.fstype != "proc" or dentry.name not in IDMAP_FILES:
        return None
    task = proc_task(k, dentry.parent)
    if task is None:
        return None
    return dentry.name, task
