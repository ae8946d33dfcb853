"""The simulated machine's global state: id allocators, the mount hash, tasks.

Model-only glue that holds what the kernel keeps in globals: `mnt_id_xa` and the unique-id
counter, `mnt_group_ida`, `unnamed_dev_ida`, `mount_hashtable` ((parent, mountpoint) ->
child) and the task list. Small helpers that fs/namespace.c and fs/pnode.c share
(`lookup_mnt`, `set_mnt_shared`, `mnt_change_mountpoint`, freeing) live here so both
modules can reach them without importing each other.
"""

from __future__ import annotations

from typing import Callable

from .fs import FS_TYPES, S_IFCHR, Dentry, SuperBlock
from .mount import (FREED, ID_MASK, IDMAPS, MNT, MNT_UNIQUE_ID_OFFSET, IdAllocator, MntNamespace, Mount,
                    T, add_child, del_child, sb_add, sb_del)
from .mount_hash import MountHash
from .task import FdTable, FsStruct, Path, Task
from .user_namespace import IDENTITY_MAP, Cred, OtherNamespace, UserNamespace, host_max_user_namespaces
from .versions import Profile, Semantics, profile, semantics

Explain = Callable[[str, Mount, Mount], None]


class Kernel:
    """One simulated Linux machine."""

    def __init__(self, sem: Semantics | None = None, mount_max: int = 100_000) -> None:
        self.sem = sem or semantics(None)
        self.profile: Profile = profile(self.sem)     # build config shown in output
        self.mount_max = mount_max                 # /proc/sys/fs/mount-max
        self.mnt_ids = IdAllocator(1)              # mnt_id_xa: smallest free id >= 1
        self.unique_ctr = MNT_UNIQUE_ID_OFFSET     # mnt_id_ctr
        self.group_ids = IdAllocator(1)            # mnt_group_ida
        self.anon_devs = IdAllocator(1)            # unnamed_dev_ida (get_anon_bdev())
        self.hash = MountHash()                    # mount_hashtable
        self.tasks: dict[int, Task] = {}
        self.init_user_ns = UserNamespace(None, 0, uid_map=IDENTITY_MAP, gid_map=IDENTITY_MAP,
                                          max_user_namespaces=host_max_user_namespaces())
        self.init_net = OtherNamespace("net", self.init_user_ns)   # init_net
        self.init_ipc = OtherNamespace("ipc", self.init_user_ns)   # init_ipc_ns
        self.init_uts = OtherNamespace("uts", self.init_user_ns)   # init_uts_ns
        self.init_cgroup = OtherNamespace("cgroup", self.init_user_ns)   # init_cgroup_ns
        self.init_time = OtherNamespace("time", self.init_user_ns)   # init_time_ns
        self.cgroup_roots: list = []               # cgroup_roots: v1 hierarchies (cgroup.py)
        self.cgroup_dfl: SuperBlock | None = None  # cgrp_dfl_root's superblock, once mounted
        self.explain_hook: Explain | None = None   # receives ("propagate", copy, receiver)
        self.current: Task | None = None           # the task running the current syscall
        self.nsfs_mnt: Mount | None = None         # set at boot (machine.boot)
        self.knullfs: Mount | None = None          # 7.3: kthreads' nullfs, cover stand-in (nullfs.py)
        self.knullfs_file: Mount | None = None     # 7.3: its regular file (knullfs_file)
        self.last_out = None                       # the last call's output buffer, decoded
        self.recorded = None                       # the replayed call's recorded Result (fs.decide())
        self.recorded_call = ""                    # and its syscall's name
        self.contents_unknown = False              # a filtered trace: new filesystems opaque

    def nsfs_path(self, ns) -> Path:
        """The path a namespace file resolves to (ns_get_path())."""
        from .proc import nsfs_dentry
        return Path(self.nsfs_mnt, nsfs_dentry(self.nsfs_mnt.sb, ns))

    # -- allocation ----------------------------------------------------------
    def alloc_vfsmnt(self, sb: SuperBlock, root: Dentry, devname: str) -> Mount:
        """alloc_vfsmnt() + mnt_alloc_id()."""
        self.unique_ctr += 1
        assert root.sb is sb, "a mount's superblock is its root's (Mount.sb is derived)"
        m = Mount(self.mnt_ids.alloc(), self.unique_ctr, root, devname)
        sb_add(m, sb)
        return m

    def new_sb(self, fstype: str, user_ns: UserNamespace, options: tuple[str, ...] = (),
               opaque: bool = False, dev: int | None = None, major: int = 0) -> SuperBlock:
        """sget_fc() + set_anon_super() for a nodev filesystem; its root belongs to the
        caller's fsuid and fsgid (shmem_fill_super(): ctx->uid = current_fsuid(); ramfs:
        inode_init_owner()), proc's and devpts's to root (proc_root's ids, new_inode())."""
        cred = self.current.cred if self.current is not None else None
        owner, group = (cred.euid, cred.egid) if cred is not None else (0, 0)
        if fstype in ("proc", "devpts"):         # proc_root's and devpts's root: GLOBAL_ROOT
            owner = group = 0
        if fstype == "tmpfs":                    # uid=/gid= (kernel ids) own the root
            for o in options:
                if o.startswith("uid="):
                    owner = int(o[4:])
                elif o.startswith("gid="):
                    group = int(o[4:])
        fst = FS_TYPES.get(fstype)
        if fst is not None and fst.shown is not None:
            options = fst.shown(options, (owner, group), self.profile)
        sb = SuperBlock(fstype, self.anon_devs.alloc() if dev is None else dev, user_ns,
                        options, opaque, major, owner, group)
        if fstype == "devpts":                   # devpts_fill_super() -> mknod_ptmx()
            ptmx = next((o for o in sb.options if o.startswith("ptmxmode=")), "ptmxmode=0")
            sb.root.create("ptmx", S_IFCHR, 0, int(ptmx[9:], 8))
        if fstype == "proc":
            from .proc import ProcLookup
            task = self.current
            sb.dynamic = ProcLookup(self, task.pid_ns if task is not None else None)
            sb.oracle = self                   # /proc/<pid> of processes outside the trace
        elif self.contents_unknown and fstype != "nsfs":
            # a filtered trace does not show the calls that made files: contents unknown,
            # decided by the recorded results (fs.decide()), as for the start table's
            sb.opaque = sb.root.unknown = True
            sb.oracle = self
        return sb

    def drop_sb(self, sb: SuperBlock) -> None:
        """deactivate_locked_super() of a superblock no mount ever used (a failed mount).
        An mqueue superblock stays: its ipc namespace's internal mount holds it."""
        if not sb.mounts and sb.major == 0 and sb.fstype != "mqueue":
            self.anon_devs.free(sb.dev)

    def free_mount(self, m: Mount) -> None:
        """mntput_no_expire() dropping the last reference: release ids, maybe the sb."""
        ids = m.ids
        if m.flags & MNT.IDMAPPED:
            IDMAPS.pop(m, None)
        if not ids & FREED:
            self.mnt_ids.free(ids & ID_MASK)
            m.ids = ids | FREED                    # mnt_id reads negative: for debugging
        sb = m.root.sb
        sb_del(m, sb)
        self.drop_sb(sb)                           # kill_anon_super() after the last one

    def mnt_alloc_group_id(self, m: Mount) -> None:
        m.group_id = self.group_ids.alloc()

    def mnt_release_group_id(self, m: Mount) -> None:
        self.group_ids.free(m.group_id)
        m.group_id = 0

    def set_mnt_shared(self, m: Mount) -> None:
        """set_mnt_shared(): clears T_UNBINDABLE too."""
        m.t_flags &= ~T.UNBINDABLE
        m.flags |= MNT.SHARED

    # -- the mount hash (fs/namespace.c) --------------------------------------
    def lookup_mnt(self, parent: Mount, dentry: Dentry) -> Mount | None:
        """__lookup_mnt(): the mount on *dentry* in *parent*, if any, or a stand-in.

        Mirrors fs/namespace.c:__lookup_mnt(). An unmounted parent keeps the covers its
        unmounted children left (7.3, `sem.lazy_umount_covers`; only umount_tree() fills
        `covers`): at one, the knullfs root for a directory, knullfs_file for anything else.
        """
        child = self.hash.lookup(parent, dentry)
        if child is None and parent.flags & MNT.UMOUNT and dentry in parent.covers:
            return self.knullfs if dentry.is_dir else self.knullfs_file
        return child

    def attach_mnt(self, mnt: Mount, parent: Mount, mp: Dentry) -> None:
        """attach_mnt(): mnt_set_mountpoint() + __attach_mnt()."""
        self.mnt_set_mountpoint(parent, mp, mnt)
        self._attach(mnt, parent)

    def mnt_set_mountpoint(self, parent: Mount, mp: Dentry, child: Mount) -> None:
        """mnt_set_mountpoint(): child sits on (parent, mp); not yet hashed."""
        child.mountpoint = mp
        child.parent = parent

    def _attach(self, mnt: Mount, parent: Mount) -> None:
        """__attach_mnt(): hash it, link it at the tail of the parent's children.
        *parent* is mnt.parent (mnt_set_mountpoint() ran): the hash keys on it."""
        self.hash.add(mnt)
        add_child(mnt, parent)

    def unhash_mnt(self, mnt: Mount) -> Dentry:
        """unhash_mnt(): detach from the parent; returns the old mountpoint."""
        mp = mnt.mountpoint
        self.hash.remove(mnt)                      # off the dentry's chain: its m_list
        del_child(mnt, mnt.parent)
        mnt.parent = mnt
        mnt.mountpoint = mnt.root
        return mp

    def mnt_change_mountpoint(self, parent: Mount, mp: Dentry, mnt: Mount) -> None:
        """mnt_change_mountpoint(): move *mnt* (a mounted tree) onto (parent, mp)."""
        self.unhash_mnt(mnt)
        self.attach_mnt(mnt, parent, mp)

    def move_from_ns(self, m: Mount) -> None:
        if m.ns is not None:
            m.ns.remove(m)

    # -- tasks -----------------------------------------------------------------
    def next_pid(self) -> int:
        """A pid for a child the program did not number (Model-only)."""
        return max(self.tasks, default=0) + 1

    def new_task(self, pid: int, cred: Cred, fs: FsStruct, files: FdTable, ns: MntNamespace) -> Task:
        t = Task(pid, cred, fs, files, ns)
        t.net_ns, t.ipc_ns, t.uts_ns = self.init_net, self.init_ipc, self.init_uts
        t.cgroup_ns = self.init_cgroup
        t.time_ns = t.time_ns_for_children = self.init_time
        self.tasks[pid] = t
        return t

    def chroot_fs_refs(self, old_root: Path, new_root: Path) -> None:
        """chroot_fs_refs(): every task rooted (or cwd'ed) at old_root moves to new_root."""
        seen: set[int] = set()
        for t in self.tasks.values():
            fs = t.fs
            if not t.alive or id(fs) in seen:
                continue
            seen.add(id(fs))
            if fs.root.same(old_root):
                fs.set_root(new_root)
            if fs.pwd.same(old_root):
                fs.set_pwd(new_root)
