"""Superblocks, dentries and the filesystem types the model knows.

Mirrors the parts of fs/dcache.c, fs/super.c and the filesystems (mm/shmem.c, fs/ramfs,
fs/proc, fs/nsfs.c) that the mount code depends on: a per-superblock directory tree,
`is_subdir()`, which dentries are mountpoints (`struct mountpoint`'s m_list), anonymous
device numbers (`get_anon_bdev()`), and what each type prints in mountinfo.

Each dentry carries its inode's owner, group and mode for the DAC checks of
permission.py, and a symlink its body
(`target`). Limitations: no file contents; device nodes have no device. Filesystems known only
from a `# start-mountinfo:` line (`opaque`) create any path on demand: their contents are
unknown to the model, and a trace that used a path successfully proves it exists.
"""

from __future__ import annotations

import errno
from types import MappingProxyType
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

import attrs

from .cgroup import V1_OPTIONS as CGROUP_V1_OPTIONS, V2_OPTIONS as CGROUP_V2_OPTIONS
from .errors import KernelError
from .packed import INTS, bit, bits, variant
from .user_namespace import make_kid

if TYPE_CHECKING:
    from typing import Any
    from .user_namespace import UserNamespace
    from .versions import Profile

S_IFDIR, S_IFREG = "dir", "reg"
S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK = "lnk", "fifo", "chr", "blk", "sock"
_NO_CHILDREN: Mapping = MappingProxyType({})
_KINDS = (S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK)   # Dentry.kind's codes
_KIND_CODE = {k: i for i, k in enumerate(_KINDS)}
# Dentry.bits' layout, also for hot loops that test it directly (a property read costs
# ~80 ns): three flags, then the type's code, the mode, the owner.
D_UNLINKED, D_GUESSED, D_UNKNOWN = 1, 2, 4
D_KIND_SHIFT, D_MODE_SHIFT, D_UID_SHIFT, D_GID_SHIFT = 3, 6, 18, 50
D_KIND = 0o7 << D_KIND_SHIFT
D_LNK = _KIND_CODE[S_IFLNK] << D_KIND_SHIFT
# SuperBlock.bits (s_flags' few the model keeps)
SB_RDONLY, SB_OPAQUE, SB_NOUSER = 1, 2, 4
MINORBITS = 20                          # include/linux/kdev_t.h: MKDEV(), MAJOR(), MINOR()
MINORMASK = (1 << MINORBITS) - 1


class Dentry:
    """A directory entry. The root's `parent` is itself, as in the kernel (IS_ROOT)."""

    __slots__ = ("name", "parent", "children", "sb", "mnts", "bits", "aux")

    # Model-only packing (packed.py): three flags, the inode's type, mode and owner in `bits`
    # (i_mode, i_uid and d_flags; few distinct values, so shared int objects); in `aux`, a
    # symlink's body, an nsfs dentry's namespace or an unknown directory's absent names
    # (never two at once).
    unlinked = bit("bits", D_UNLINKED, "d_unlinked(): removed by rmdir/unlink")
    guessed = bit("bits", D_GUESSED, "created on demand in an opaque fs: its type is a guess")
    unknown = bit("bits", D_UNKNOWN, "a directory whose contents the model does not know")
    target = variant("aux", str, "S_IFLNK: the link body (i_link)")
    absent = variant("aux", set, "names recorded results showed missing")
    ns_ref = variant("aux", lambda a: type(a) not in (str, set),
                     "nsfs dentries: the namespace they stand for")
    kind = bits("bits", D_KIND_SHIFT, 3, "the inode's type (S_IFDIR, ...)", _KINDS)
    mode = bits("bits", D_MODE_SHIFT, 12, "the inode's permission bits (i_mode & 07777)")
    uid = bits("bits", D_UID_SHIFT, 32, "i_uid, a kernel id (user_namespace.py)")
    gid = bits("bits", D_GID_SHIFT, 32, "i_gid, a kernel id")

    def __init__(self, name: str, parent: Dentry | None, sb: SuperBlock, kind: str = S_IFDIR,
                 uid: int = 0, mode: int | None = None, gid: int = 0) -> None:
        self.name = name
        self.parent: Dentry = parent if parent is not None else self
        self.children: Mapping[str, Dentry] = _NO_CHILDREN   # own_children() to add
        self.sb = sb
        self.mnts: Any = ()          # mounts hashed here, its m_list too (mount_hash.py)
        if mode is None:
            mode = 0o755 if kind == S_IFDIR else 0o644
        b = (_KIND_CODE[kind] << D_KIND_SHIFT | (mode & 0o7777) << D_MODE_SHIFT
             | uid << D_UID_SHIFT | gid << D_GID_SHIFT)
        self.bits = INTS.setdefault(b, b)    # shared_int()
        self.aux = None              # target, ns_ref or absent

    @property
    def is_dir(self) -> bool:
        return not self.bits & D_KIND    # kind S_IFDIR: code 0

    @property
    def is_root(self) -> bool:
        return self.parent is self

    def lookup(self, name: str, create: bool = False, kind: str = S_IFDIR) -> Dentry | None:
        """d_lookup(). In a directory whose contents are unknown, a name the model has not
        seen is undecided: the recorded result of the call being replayed decides it, once
        (`decide()`); with no recorded result it exists. *create*: the caller creates the
        name if missing (mkdir, O_CREAT), so its success means "was missing". *kind*: what an
        existing name is taken to be."""
        d = self.children.get(name)
        if d is not None or not self.bits & D_UNKNOWN:
            return d
        if not decide(self, name, create):
            return None
        rec, call = recorded(self.sb)
        err = rec.errno if rec is not None else None
        if err in ("ENOTDIR", "EISDIR") and call in _TWO_PATHS:
            # the other path's kind may be the reason — except for a rename's target, which
            # exists with the kind opposite to the source's (vfs_rename(): EISDIR, ENOTDIR)
            err = ("ENOTDIR" if kind == S_IFDIR else "EISDIR") if create else None
        d = self.create(name, S_IFREG if err == "ENOTDIR" else S_IFDIR if err == "EISDIR" else kind)
        d.guessed = True
        d.unknown = d.kind == S_IFDIR
        return d

    def settle_kind(self, other: Dentry) -> None:
        """A guessed dentry takes the type a successful call shows it has (a bind mount of
        an unknown /dev/null onto a file proves it is not a directory)."""
        rec, _ = recorded(self.sb)
        if rec is not None and rec.errno in ("ENOTDIR", "EISDIR"):
            return                      # the recorded call says the kinds differ
        if self.bits & D_GUESSED and not self.children and self.kind != other.kind:
            self.kind = other.kind

    def own_children(self) -> dict[str, Dentry]:
        """The children dict, to add a name to: most dentries never get one, so they share
        one read-only empty mapping until then (Model-only, for memory)."""
        if self.children is _NO_CHILDREN:
            self.children = {}
        return self.children  # type: ignore[return-value]

    def create(self, name: str, kind: str, uid: int = 0, mode: int | None = None,
               gid: int = 0) -> Dentry:
        d = Dentry(name, self, self.sb, kind, uid, mode, gid)
        self.own_children()[name] = d
        if type(self.aux) is set:    # absent
            self.aux.discard(name)
        return d

    def path(self) -> str:
        """Path of this dentry from its superblock's root (dentry_path_raw())."""
        d = self
        p = d.parent
        if p is d:
            return "/"
        parts: list[str] = []
        while p is not d:                # up to IS_ROOT
            parts.append(d.name)
            d, p = p, p.parent
        parts.reverse()
        return "/" + "/".join(parts)

    def dentry_path(self) -> str:
        """dentry_path(): path() plus "//deleted" once rmdir removed it (mountinfo's root)."""
        p = self.path()
        return p + "//deleted" if self.bits & D_UNLINKED and self.parent is not self else p

    def __repr__(self) -> str:
        return f"<Dentry {self.sb.fstype}:{self.path()}>"


# calls whose ENOTDIR/EISDIR may come from two paths' kinds not matching (a directory
# renamed or bound onto a file), not from the name being decided
_TWO_PATHS = frozenset({"rename", "renameat", "renameat2", "mount", "move_mount", "pivot_root"})


def recorded(sb: SuperBlock):
    """(the replayed call's recorded Result or None, its syscall's name) for a superblock
    of unknown contents (`sb.oracle` is the Kernel, set by machine.boot()). Model-only."""
    oracle = sb.oracle
    if oracle is None or oracle.recorded is None:
        return None, ""
    return oracle.recorded, oracle.recorded_call


def decide(d: Dentry, name: str, create: bool) -> bool:
    """Whether the undecided *name* in the unknown directory *d* exists. Model-only.

    The recorded result of the call being replayed is the oracle: ENOENT means missing (the
    first undecided name on the path is taken to be the missing one), a success of a call
    that creates the name means it was missing, EEXIST and any other outcome mean it
    exists. A name once found missing stays missing until a later recorded success needs it
    (the earlier ENOENT then came from a name further on). No recorded result (generated
    programs, the live campaign): it exists, unless the caller creates it.
    """
    rec, call = recorded(d.sb)
    was_absent = d.absent is not None and name in d.absent
    if rec is None:
        exists = not create and not was_absent
    elif rec.errno == "ENOENT":
        exists = False
    elif rec.errno is None:
        exists = not create
    else:
        exists = rec.errno == "EEXIST" or not create or (
            rec.errno in ("EISDIR", "ENOTDIR", "ENOTEMPTY") and call in _TWO_PATHS)
    if not exists:
        if d.absent is None:
            d.absent = set()
        d.absent.add(name)
    return exists


def is_subdir(d: Dentry, ancestor: Dentry) -> bool:
    """is_subdir(): *d* is *ancestor* or lies below it (fs/dcache.c)."""
    while d is not ancestor:
        p = d.parent
        if p is d:                      # IS_ROOT
            return False
        d = p
    return True


@attrs.define(slots=True, eq=False)
class FsType:
    """struct file_system_type plus the option parsing/printing that mountinfo shows."""

    name: str
    userns_mount: bool            # FS_USERNS_MOUNT: mountable by root of a user namespace
    ignores_options: bool = False  # ramfs "traditionally ignored all mount options"
    known_options: frozenset[str] = frozenset()
    nodev: bool = True            # not a block-device filesystem: source is just a name
    # The options a new superblock shows (its show_options()), from the parsed ones, the
    # mounter's fsuid and the build's Profile (versions.py); None: as given.
    # (options, (root's uid, gid), profile) -> what show_options prints
    shown: Callable[[tuple[str, ...], tuple[int, int], Profile], tuple[str, ...]] | None = None
    # known options that exist only when a build Profile flag is set: (flag, options)
    configured: tuple[str, frozenset[str]] | None = None

    def options(self, profile: Profile | None) -> frozenset[str]:
        """The parameters this build's filesystem takes (its fs_parameter_spec)."""
        if self.configured is None or (profile is not None and getattr(profile, self.configured[0])):
            return self.known_options
        return self.known_options - self.configured[1]




class SuperBlock:
    """struct super_block: one instance of a filesystem, shared by all its mounts."""

    __slots__ = ("fstype", "s_dev", "root", "user_ns", "options", "bits", "mounts", "dynamic",
                 "oracle")

    @property
    def dev(self) -> int:
        """MINOR(s_dev): the anonymous device's number for nodev filesystems."""
        return self.s_dev & MINORMASK

    @property
    def major(self) -> int:
        """MAJOR(s_dev)"""
        return self.s_dev >> MINORBITS

    rdonly = bit("bits", SB_RDONLY, "SB_RDONLY")
    opaque = bit("bits", SB_OPAQUE, "contents unknown: paths are created on demand")
    nouser = bit("bits", SB_NOUSER, "SB_NOUSER (nullfs; nsfs_init() clears it for nsfs)")

    def __init__(self, fstype: str, dev: int, user_ns: UserNamespace, options: tuple[str, ...] = (),
                 opaque: bool = False, major: int = 0, owner: int = 0, group: int = 0) -> None:
        self.fstype = fstype
        self.s_dev = major << MINORBITS | dev   # MKDEV(); anonymous devices: major 0
        self.user_ns = user_ns           # s_user_ns
        self.options = options           # what show_options prints, in order
        self.bits = SB_OPAQUE if opaque else 0   # rdonly, opaque, nouser (packed.py)
        self.mounts = None               # s_mounts: the first (mount.sb_add())
        self.dynamic = None              # proc: lookup(dentry, name) -> Dentry | Path | None
        self.oracle = None               # opaque: has `.recorded`, the replayed call's result
        self.root = Dentry("/", None, self, uid=owner, mode=_root_mode(fstype, options), gid=group)
        self.root.unknown = opaque

    def show_options(self) -> str:
        """`rw`/`ro` then the filesystem's own options, as show_mountinfo() prints them."""
        opts = self.options
        ro = self.bits & SB_RDONLY           # read in a hot loop: no property call
        if not opts:
            return "ro" if ro else "rw"
        return ("ro," if ro else "rw,") + ",".join(opts)


# shmem_show_options() prints in this order, whatever order the options were given in.
_TMPFS_SHOW_ORDER = ("size", "nr_inodes", "mode", "uid", "gid", "huge", "mpol", "inode32",
                     "inode64", "noswap", "quota", "usrquota", "grpquota")


def tmpfs_options(options: tuple[str, ...], owner: tuple[int, int], profile: Profile) -> tuple[str, ...]:
    """The options a new tmpfs shows: an owner or group other than root's appears as uid=
    or gid= (the root inode belongs to the mounter's fsuid and fsgid unless uid= or gid=
    say otherwise: shmem_init_fs_context()), in kernel order.

    Mirrors mm/shmem.c:shmem_show_options() for inode64/inode32: full_inums defaults to
    CONFIG_TMPFS_INODE64 (`profile.tmpfs_inode64`), the last of inode32/inode64 given wins;
    "inode64"/"inode32" is shown when the config is on or full_inums is set, else hidden.
    """
    for key, kid in zip(("uid=", "gid="), owner):
        if not any(o.startswith(key) for o in options):
            options = options + (f"{key}{kid}",)
    options = tuple(o for o in options if o not in ("uid=0", "gid=0"))   # GLOBAL_ROOT_UID/GID
    full_inums = profile.tmpfs_inode64
    for o in options:
        if o in ("inode32", "inode64"):
            full_inums = o == "inode64"
    options = tuple(o for o in options if o not in ("inode32", "inode64"))
    if profile.tmpfs_inode64 or full_inums:
        options += ("inode64" if full_inums else "inode32",)
    rank = {k: i for i, k in enumerate(_TMPFS_SHOW_ORDER)}
    return tuple(sorted(options, key=lambda o: rank.get(o.partition("=")[0], len(rank))))


def kstrtouint(val: str, base: int, fs: str, key: str, where: str) -> int:
    """fs_param_is_u32(): kstrtouint() in *base* (fsparam_u32oct 8: tmpfs's, ramfs's and
    devpts's mode; fsparam_u32 0: "0x" hex, a leading "0" octal, else decimal), so an
    optional "+", digits of the base only, at most 0xffffffff, a trailing newline allowed.
    Errors: EINVAL "<fs>: Bad value for '<key>'" (fs_param_bad_value())."""
    body = val[:-1] if val.endswith("\n") else val
    body = body[1:] if body.startswith("+") else body
    if base == 0:
        base, body = (16, body[2:]) if body[:2].lower() == "0x" else \
            (8, body) if body.startswith("0") else (10, body)
    digits = "0123456789abcdef"[:base]
    if not body or any(c not in digits for c in body.lower()) or int(body, base) > 0xFFFFFFFF:
        raise KernelError(errno.EINVAL, f"{fs}: Bad value for '{key}'", where=where)
    return int(body, base)


def fsparam_kid(val: str, user_ns: UserNamespace | None, fs: str, key: str, why: str,
                where: str) -> int:
    """A uid= or gid= parameter as a kernel id: kstrtouint() in base 0 (fsparam_u32), then
    make_kuid()/make_kgid() in the caller's namespace (*user_ns*; None: the initial one),
    which must map it. Errors: EINVAL "<fs>: <why>" where it maps nothing (tmpfs:
    shmem_parse_one()'s "Bad value"; devpts: fs_param_is_uid()'s "Invalid uid")."""
    kid = kstrtouint(val, 0, fs, key, where)
    kid = make_kid(user_ns, f"{key}_map", kid) if user_ns is not None else kid
    if kid is None:
        raise KernelError(errno.EINVAL, f"{fs}: {why}", where=where)
    return kid


def u32_octal(val: str, fs: str, key: str, where: str) -> int:
    """fsparam_u32oct: kstrtouint() in base 8."""
    return kstrtouint(val, 8, fs, key, where)


def ramfs_options(options: tuple[str, ...], owner: tuple[int, int] = (0, 0), profile: Profile | None = None) -> tuple[str, ...]:
    """What ramfs_show_options() prints: mode= in octal (%o) unless RAMFS_DEFAULT_MODE 0755;
    the last mode given wins (ramfs_parse_param(): `mode & S_IALLUGO`)."""
    mode = 0o755
    for o in options:
        if o.startswith("mode="):
            mode = u32_octal(o[5:], "ramfs", "mode", "ramfs_parse_param") & 0o7777
    return () if mode == 0o755 else (f"mode={mode:o}",)


def devpts_options(options: tuple[str, ...]) -> tuple[str, ...]:
    """What devpts_show_options() prints: uid=/gid= when set, mode= and ptmxmode= always
    (defaults 600 and 000), max= when set; newinstance is implied and never shown."""
    given = dict(o.partition("=")[::2] for o in options)
    out = [f"{key}={given[key]}" for key in ("uid", "gid") if key in given]
    for key, default in (("mode", 0o600), ("ptmxmode", 0o000)):
        value = u32_octal(given[key], "devpts", key, "devpts_parse_param") if key in given \
            else default
        out.append(f"{key}={value & 0o777:03o}")
    if "max" in given:
        out.append(f"max={given['max']}")
    return tuple(out)


_HIDEPID = {"0": "off", "1": "noaccess", "2": "invisible", "4": "ptraceable"}


def proc_options(options: tuple[str, ...], owner: tuple[int, int] = (0, 0), profile: Profile | None = None) -> tuple[str, ...]:
    """What proc_show_options() prints: gid= unless 0, hidepid= by name unless off,
    subset=pid; the last of each wins. Errors: EINVAL (proc_parse_hidepid_param(): not one
    of 0/1/2/4 or their names; proc_parse_subset_param(): a subset other than pid)."""
    given = dict(o.partition("=")[::2] for o in options)
    out = []
    if given.get("gid", "0") != "0":
        out.append(f"gid={given['gid']}")
    if "hidepid" in given:
        value = _HIDEPID.get(given["hidepid"], given["hidepid"])
        if value not in _HIDEPID.values():
            raise KernelError(errno.EINVAL, "proc: unknown value of hidepid", where="proc_parse_hidepid_param")
        if value != "off":
            out.append(f"hidepid={value}")
    if "subset" in given:
        if given["subset"] != "pid":
            raise KernelError(errno.EINVAL, "proc: unsupported subset option", where="proc_parse_subset_param")
        out.append("subset=pid")
    return tuple(out)


def _root_mode(fstype: str, options: tuple[str, ...]) -> int:
    """The root inode's mode: tmpfs 1777 and ramfs 0755 unless mode= (shmem_fill_super(),
    ramfs_fill_super()), proc 0555, devpts 0755 (its mode= is its ptys', devpts_fill_super())."""
    if fstype in ("tmpfs", "ramfs"):
        for o in options:
            if o.startswith("mode="):
                return int(o[5:], 8)
    return {"tmpfs": 0o1777, "proc": 0o555}.get(fstype, 0o755)


TMPFS_QUOTA = frozenset({"quota", "usrquota", "grpquota", "usrquota_block_hardlimit",
                          "usrquota_inode_hardlimit", "grpquota_block_hardlimit",
                          "grpquota_inode_hardlimit"})


FS_TYPES: dict[str, FsType] = {
    t.name: t for t in (
        FsType("tmpfs", True, known_options=frozenset(
            {"size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge", "mpol",
             "inode32", "inode64", "noswap", *TMPFS_QUOTA}),
               shown=tmpfs_options, configured=("tmpfs_quota", TMPFS_QUOTA)),
        # ramfs parses only mode and "traditionally ignored" every other option
        FsType("ramfs", True, ignores_options=True, known_options=frozenset({"mode"}),
               shown=ramfs_options),
        FsType("proc", True, known_options=frozenset({"hidepid", "gid", "subset", "pidns"}),
               shown=proc_options),
        FsType("devpts", True, known_options=frozenset(
            {"uid", "gid", "mode", "ptmxmode", "max", "newinstance"}),
               shown=lambda opts, owner, profile: devpts_options(opts)),
        # no parameters at all (no ->parse_param: any option is "Unknown parameter"); one
        # superblock per net / ipc namespace (syscalls/mount.py fs_context_sb())
        FsType("sysfs", True),
        FsType("mqueue", True),
        # one superblock per hierarchy (cgroup.py)
        FsType("cgroup", True, known_options=CGROUP_V1_OPTIONS),
        FsType("cgroup2", True, known_options=CGROUP_V2_OPTIONS),
        FsType("rootfs", False),
        FsType("nsfs", False),
    )
}


def parse_options(fstype: FsType, data: str | None, profile: Profile | None = None,
                  user_ns: UserNamespace | None = None, whole: bool = False) -> tuple[str, ...]:
    """parse_monolithic_mount_data() for the types the model knows; *profile* is the build's
    (tmpfs's quota options exist only with CONFIG_TMPFS_QUOTA); *user_ns* the caller's, in
    which tmpfs's uid= and gid= are read (None: the initial one). *whole*: one parameter
    as fsconfig(FSCONFIG_SET_STRING) gives it, commas in its value included.

    Errors: EINVAL for a parameter the filesystem does not know (tmpfs, proc; ramfs ignores
    them) or a bad value.
    """
    if not data:
        return ()
    shown: list[str] = []
    known = fstype.options(profile)
    tmpfs: dict[str, str] = {}        # setting -> its text ("": the default, not shown)
    for opt in [data] if whole else data.split(","):
        if not opt:
            continue
        key, _, val = opt.partition("=")
        if key not in known and fstype.ignores_options:
            continue
        if key not in known:
            raise KernelError(errno.EINVAL, f"{fstype.name}: Unknown parameter '{key}'",
                              where="vfs_parse_fs_param")
        if fstype.name == "ramfs":
            u32_octal(val, "ramfs", key, "ramfs_parse_param")      # its only parameter
        if fstype.name == "devpts" and key in ("uid", "gid"):
            # fsparam_uid/gid: shown as kernel ids (devpts_show_options())
            kid = fsparam_kid(val, user_ns, "devpts", key, f"Invalid {key} {val!r}",
                              "fs_param_is_uid")
            opt = f"{key}={kid}"
        if fstype.name == "tmpfs":    # the last value of a setting wins (size, nr_blocks:
            tmpfs.pop("size" if key == "nr_blocks" else key, None)      # both ctx->blocks)
            tmpfs["size" if key == "nr_blocks" else key] = _show_tmpfs_option(key, val, user_ns)
        else:
            shown.append(opt)
    if fstype.name == "proc":
        proc_options(tuple(shown))            # its parse_param()'s EINVALs, before anything
    return tuple(o for o in (*shown, *tmpfs.values()) if o)


def _show_tmpfs_option(key: str, val: str, user_ns: UserNamespace | None = None) -> str:
    """What shmem_show_options() prints for one parsed option: sizes in KiB and inode counts
    in full (memparse() suffixes, size's percentage of RAM), mode in octal, uid/gid as ids;
    values equal to the defaults (size and nr_inodes of half the RAM, mode 1777, uid and
    gid 0) are not printed. Errors: EINVAL ("Bad value", shmem_parse_one())."""
    if key in ("size", "nr_blocks", "nr_inodes"):
        count, pct = _memparse(val, key)
        if key == "size":
            count = count * PAGE_SIZE * totalram_pages() // 100 if pct else count
            blocks = -(-count // PAGE_SIZE)            # DIV_ROUND_UP(size, PAGE_SIZE)
            return "" if blocks == totalram_pages() // 2 else f"size={blocks * PAGE_SIZE // 1024}k"
        if key == "nr_blocks":
            return "" if count == totalram_pages() // 2 else f"size={count * PAGE_SIZE // 1024}k"
        return "" if count == totalram_pages() // 2 else f"nr_inodes={count}"
    if key == "mode":
        mode = u32_octal(val, "tmpfs", "mode", "shmem_parse_one") & 0o7777
        return "" if mode == 0o1777 else f"mode={mode:03o}"
    if key in ("uid", "gid"):
        # printed as the initial namespace's id (from_kuid_munged(&init_user_ns, …)), not
        # at all for GLOBAL_ROOT_UID/GID
        kid = fsparam_kid(val, user_ns, "tmpfs", key, f"Bad value for '{key}'", "shmem_parse_one")
        return f"{key}={kid}"          # 0 too: it overrides the mounter's; tmpfs_options() hides it
    if key == "mpol" and val == "default":
        return ""                                       # shmem_show_mpol(): MPOL_DEFAULT
    return f"{key}={val}" if val else key


PAGE_SIZE = 4096
_SUFFIX = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


def _memparse(val: str, key: str) -> tuple[int, bool]:
    """memparse() as shmem_parse_one() uses it: a C number (0x.. hex, 0.. octal) with an
    optional K/M/G/T/P/E suffix, and for size a trailing "%" (of RAM): (value, percent)."""
    body, pct = (val[:-1], True) if key == "size" and val.endswith("%") else (val, False)
    shift = _SUFFIX.get(body[-1:].lower(), 0) if body else 0
    digits = body[:-1] if shift else body
    try:
        n = int(digits, 16) if digits.lower().startswith("0x") else \
            int(digits, 8) if len(digits) > 1 and digits.startswith("0") else int(digits, 10)
    except ValueError:
        raise KernelError(errno.EINVAL, f"tmpfs: Bad value for '{key}'", where="shmem_parse_one")
    return n << shift, pct


_TOTALRAM: list[int] = []


def totalram_pages() -> int:
    """totalram_pages(): what tmpfs sizes in percent and its defaults are taken of. Model-only:
    the model simulates this machine's memory (MemTotal of /proc/meminfo; 4 GiB without
    one), so a size given in percent shows what it would show here — a recording made on a
    machine with other memory shows other numbers."""
    if not _TOTALRAM:
        kib = 4 << 20
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemTotal:"):
                        kib = int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            pass
        _TOTALRAM.append(kib * 1024 // PAGE_SIZE)
    return _TOTALRAM[0]


# what shmem_reconfigure() applies; mode, uid and gid are kept (they were the root inode's)
_TMPFS_RECONFIGURED = frozenset({"size", "nr_inodes", "huge", "mpol", "inode32", "inode64",
                                 "noswap"})


def tmpfs_reconfigure(sb: SuperBlock, new: tuple[str, ...]) -> tuple[str, ...]:
    """The options of *new* that shmem_reconfigure() applies, after its checks. Errors:
    EINVAL for a size or an inode count on a superblock that had none (size=0,
    nr_inodes=0: "Cannot retroactively limit"), fewer inodes than in use (every name of
    the filesystem and its root), noswap (it cannot be turned on), quota (it cannot be
    enabled on remount)."""
    old = dict(o.partition("=")[::2] for o in sb.options)
    kept = []
    for o in new:
        key, _, val = o.partition("=")
        if key in TMPFS_QUOTA and not old.keys() & {"quota", "usrquota", "grpquota"}:
            raise KernelError(errno.EINVAL, "tmpfs: Cannot enable quota on remount",
                              where="shmem_reconfigure")
        if key not in _TMPFS_RECONFIGURED:
            continue
        if key == "size" and val != "0k" and old.get("size") == "0k":
            raise KernelError(errno.EINVAL, "tmpfs: Cannot retroactively limit size",
                              where="shmem_reconfigure")
        if key == "nr_inodes" and val != "0":
            if old.get("nr_inodes") == "0":
                raise KernelError(errno.EINVAL, "tmpfs: Cannot retroactively limit inodes",
                                  where="shmem_reconfigure")
            if not sb.opaque and int(val) < sum(1 for _ in walk(sb.root)):
                raise KernelError(errno.EINVAL, "tmpfs: Too few inodes for current use",
                                  where="shmem_reconfigure")
        if key == "noswap" and "noswap" not in old:
            raise KernelError(errno.EINVAL, "tmpfs: Cannot disable swap on remount",
                              where="shmem_reconfigure")
        kept.append(o)
    return tuple(kept)


def merge_options(old: Iterable[str], new: Iterable[str]) -> tuple[str, ...]:
    """Later values of a key replace earlier ones, in first-seen order (Model-only)."""
    merged = dict(o.partition("=")[::2] for o in old)
    merged.update(dict(o.partition("=")[::2] for o in new))
    return tuple(f"{a}={b}" if b else a for a, b in merged.items())


def reconfigure_options(sb: SuperBlock, new: Iterable[str], profile: Profile) -> tuple[str, ...]:
    """The superblock's options after a reconfiguration (mount -o remount, fsconfig
    FSCONFIG_CMD_RECONFIGURE) with the parsed *new* ones: later values of a key replace
    earlier ones, but devpts_reconfigure() takes the new context's options whole (its
    defaults for what is not given, also when nothing is), shmem_reconfigure() only some
    (tmpfs_reconfigure()) and ramfs has no ->reconfigure; then printed as the filesystem's
    ->show_options() prints them. Errors: tmpfs's EINVAL."""
    if sb.fstype == "ramfs":
        return sb.options
    new = tmpfs_reconfigure(sb, tuple(new)) if sb.fstype == "tmpfs" else tuple(new)
    if not new and sb.fstype != "devpts":
        return sb.options
    options = merge_options(() if sb.fstype == "devpts" else sb.options, new)
    fst = FS_TYPES.get(sb.fstype)
    return fst.shown(options, (0, 0), profile) if fst is not None and fst.shown is not None else options


def walk(d: Dentry) -> Iterator[Dentry]:
    """Every dentry below *d*, *d* first (used by detach_mounts on rmdir)."""
    stack = [d]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(x.children.values())
