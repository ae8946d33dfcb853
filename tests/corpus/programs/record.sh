#!/bin/sh
# Re-record the real-program corpus with plain `strace -f -o NAME.strace` (as root). Every
# program runs in a mount namespace of its own (util-linux unshare, or bwrap's), so nothing
# reaches the host's table; NAME.mountinfo is the table the program started from.
# `record.sh NAME...` re-records only those cases. recording.caps: the sets they start with.
set -eu
cd "$(dirname "$0")"
ONLY=" $* "
S=$(mktemp -d /tmp/mountsim-rec.XXXXXX)
# the capability sets every recording starts with (this machine's root may lack some:
# CAP_SYS_RESOURCE here); the corpus test replays with them (replay --start-caps)
grep '^Cap' /proc/self/status > recording.caps
mkdir -p "$S/dir" "$S/new/old" && : > "$S/file" && : > "$S/file2"
wanted() { [ "$ONLY" = "  " ] || case "$ONLY" in *" $1 "*) true ;; *) false ;; esac; }
rec() {   # rec NAME CMD...
    name=$1; shift
    wanted "$name" || return 0
    cat /proc/self/mountinfo > "$name.mountinfo"
    strace -f -o "$name.strace" "$@" > /dev/null 2>&1 || true
}
rec_tables() {   # rec_tables NAME CMD...: strings in full, so that replay compares every
    # table read; NAME.copy is the start table as a fresh copy lists it, for the order its
    # mounts were attached in (replay --start-copy; mountinfo itself lists by creation)
    name=$1; shift
    wanted "$name" || return 0
    cat /proc/self/mountinfo > "$name.mountinfo"
    unshare -m --propagation unchanged cat /proc/self/mountinfo > "$name.copy"
    strace -f -s 65536 -o "$name.strace" "$@" > /dev/null 2>&1 || true
}
U="unshare -m --propagation private"
rec unshare-m                $U true
rec unshare-r                unshare -r -m true
rec unshare-propagation      unshare -m --propagation slave true
rec mount-bind-dir           $U mount --bind "$S/dir" "$S/dir"
rec mount-bind-file          $U mount --bind "$S/file" "$S/file2"
rec mount-make               $U sh -c "mount --bind $S/dir $S/dir && mount --make-shared $S/dir && mount --make-slave $S/dir && mount --make-private $S/dir && mount --make-unbindable $S/dir"
rec mount-move               $U sh -c "mount -t tmpfs none $S/dir && mount --move $S/dir $S/new"
rec mount-remount-bind-ro    $U sh -c "mount --bind $S/dir $S/dir && mount -o remount,bind,ro $S/dir"
rec umount-l                 $U sh -c "mount -t tmpfs none $S/dir && umount -l $S/dir"
rec nsenter                  $U sh -c "nsenter --mount=/proc/self/ns/mnt true"
rec pivot-root               $U sh -c "mount -t tmpfs none $S/new && mkdir $S/new/old && cd $S/new && pivot_root . old"
rec chroot                   $U sh -c "mount -t tmpfs none $S/new && chroot $S/new /nonexistent" 
rec bwrap-bind               bwrap --bind / / --tmpfs /tmp true
rec bwrap-ro-bind-dev-proc   bwrap --ro-bind /usr /usr --ro-bind /lib /lib --ro-bind /lib64 /lib64 --ro-bind /bin /bin --dev /dev --proc /proc --tmpfs /tmp /bin/true
rec bwrap-symlink            bwrap --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --tmpfs /tmp /bin/true
rec bwrap-unshare-user       bwrap --unshare-user --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev /bin/true
rec_tables bwrap-rbind-tables bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-pid true
rec_tables read-then-copy       sh -c "cat /proc/self/mountinfo; unshare -m --propagation unchanged cat /proc/self/mountinfo"
rec_tables sysfs-mqueue       unshare -m --propagation private sh -c '
mount -t sysfs s1 /mnt; mount -t sysfs s2 /media; mount -t mqueue m1 /srv; mount -t mqueue m2 /opt
mount -t sysfs -o foo=1 s3 /var
cat /proc/self/mountinfo
unshare -n sh -c "mount -t sysfs s4 /mnt; cat /proc/self/mountinfo"
unshare -i sh -c "mount -t mqueue m3 /srv; cat /proc/self/mountinfo"
unshare -Urm sh -c "mount -t sysfs s5 /mnt"
unshare -Urmi sh -c "mount -t mqueue m4 /srv; cat /proc/self/mountinfo"
unshare -Urmn sh -c "mount -t sysfs s6 /mnt; cat /proc/self/mountinfo"
'
rec_tables bwrap-unshare-all bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp --remount-ro / true
# close-on-exec: a descriptor dash opened survives its exec of umount (EBUSY); the ones
# perl opens (O_CLOEXEC) do not (umount succeeds)
rec_tables exec-cloexec      $U sh -c '
mount -t tmpfs none /mnt && mkdir /mnt/d
(exec 3</mnt/d; exec umount /mnt)
perl -e "opendir(my \$a, q(/)); opendir(my \$b, q(/mnt)); opendir(my \$c, q(/mnt/d)); exec q(umount), q(/mnt)"
cat /proc/self/mountinfo'
# a bash script: bash reads it through fd 255 and seeks back over what it has not run yet;
# its read builtin seeks back over what it read past a line; a here-document; fcntl on fds
printf '%s\n' 'mount -t tmpfs none /mnt' 'mkdir /mnt/a' 'echo one > /mnt/a/f; echo two >> /mnt/a/f' \
    'read -r x < /mnt/a/f' 'mount --bind /mnt/a /media' 'cat <<EOF > /mnt/a/g' 'here' 'EOF' \
    'exec 4</mnt/a/g' 'umount /mnt || true' 'exec 4<&-' 'umount /media' 'umount /mnt' \
    'cat /proc/self/mountinfo' > "$S/script.sh"
rec_tables bash-script       $U bash "$S/script.sh"
# ip netns add/exec/del (iproute2): /run/netns made shared, the new net namespace's file
# bound on /run/netns/foo, entered by setns through it, /sys remounted for it, unmounted
rec_tables ip-netns          $U sh -c '
mount -t tmpfs none /run
ip netns add foo && ip netns exec foo cat /proc/self/mountinfo
ip netns del foo
cat /proc/self/mountinfo'
# nsenter -a into a process in new uts, ipc, net, cgroup, time, pid and mount namespaces
# (every /proc/<pid>/ns file opened, setns into each); lsns reads /proc/<pid> of every
# process of the machine, most of them outside the trace
rec_tables nsenter-all       $U sh -c '
unshare -u -i -n -C -T -p -f -m --propagation private sleep 3 & sleep 0.5
c=$(pgrep -P $!)
nsenter -a -t $c sh -c "cat /proc/self/mountinfo; ls -l /proc/self/ns"
lsns -t mnt -t net -t uts
kill $c; wait'
# df and findmnt --df read the table to its end and ask lseek where they are
rec_tables df                $U sh -c 'mount -t tmpfs -o size=2m none /mnt; df /mnt; findmnt --df'
# systemd-nspawn (needs systemd-container): a volatile container of this machine's /usr,
# with its own /proc, /sys, cgroup v1 and v2 hierarchies (in a new cgroup namespace, so no
# hierarchy's flags change) and files bound over /proc entries; /run is a tmpfs first, for
# the directories nspawn makes there
rec_tables systemd-nspawn    $U sh -c 'mount -t tmpfs none /run
systemd-nspawn --register=no --keep-unit --volatile=yes -D / --pipe -q /bin/cat /proc/self/mountinfo'
# cgroup and cgroup2 mounts that make no hierarchy and change no flags (only where this
# machine has a v1 cpu hierarchy): the host's hierarchies reused, EBUSY and EINVAL cases,
# cgroup2 with the flags it has; in a new cgroup namespace flags are not applied and a new
# hierarchy is EPERM
if grep -q ' - cgroup cgroup rw,cpu$' /proc/self/mountinfo; then
rec_tables cgroup-mounts     $U sh -c '
v2=$(sed -n "s/.* - cgroup2 [^ ]* //p" /proc/self/mountinfo | head -n 1)
mount -t cgroup -o cpu x /mnt
mount -t cgroup -o cpu,cpuacct x /media
mount -t cgroup -o bogus x /media
mount -t cgroup -o none x /srv
mount -t cgroup -o name=systemd x /opt
mount -t cgroup -o name=systemd,cpu x /var
[ -n "$v2" ] && mount -t cgroup2 -o "$v2" y /boot
unshare -C sh -c "mount -t cgroup2 -o nsdelegate y /home; mount -t cgroup -o none,name=x2 x /root"
cat /proc/self/mountinfo'
fi
# firejail (needs firejail): every path it mounts over opened with openat2(RESOLVE_NO_SYMLINKS)
# and mounted on through /proc/self/fd/N; /run a tmpfs first, for /run/firejail
rec_tables firejail          $U sh -c 'mount -t tmpfs none /run
firejail --quiet --noprofile --private --private-tmp --read-only=/usr cat /proc/self/mountinfo'
# bwrap --bind-fd / --ro-bind-fd of descriptors it inherited (3 and 4: given to the
# function, so strace and bwrap have them open before the recording's first line)
rec_tables bwrap-bind-fd     bwrap --ro-bind / / --tmpfs /tmp --bind-fd 3 /mnt --ro-bind-fd 4 /media \
    cat /proc/self/mountinfo 3</tmp 4</usr
# bwrap --disable-userns (flatpak's): in its user namespace max_user_namespaces becomes 1,
# a nested namespace maps its ids (setgroups "deny" inherited), and a third is ENOSPC
rec_tables bwrap-disable-userns bwrap --unshare-user --disable-userns --new-session \
    --die-with-parent --cap-drop ALL --ro-bind / / --perms 0700 --dir /tmp/x --proc /proc \
    --dev /dev --remount-ro / cat /proc/self/mountinfo
# unshare --map-user=1000: uid 1000 in its namespace, so the shell it runs has no
# capabilities after exec (mount is EPERM)
rec_tables unshare-map-user  unshare --user --map-user=1000 --map-group=1000 --mount \
    sh -c 'mount -t tmpfs none /mnt; cat /proc/self/uid_map'
# processes forked inside a new pid namespace: plain strace prints each fork's result in the
# caller's namespace ("clone(...) = 3") while the child's lines carry strace's pid, and
# /proc/self names the in-namespace pid (proc_self_get_link())
rec_tables bwrap-pidns-shell bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev \
    --tmpfs /tmp --tmpfs /mnt sh -c 'readlink /proc/self; mount -t tmpfs t /mnt
findmnt -R /mnt; cat /proc/self/mountinfo | tail -3; test -d /proc/1/ns && readlink /proc/self'
rec_tables unshare-pid-fork  unshare --pid --fork --mount-proc sh -c 'readlink /proc/self
cat /proc/1/mountinfo | tail -2; sh -c "readlink /proc/self; readlink /proc/thread-self"'
# children that speak in another order than they were forked: in the kept recording the
# second sleep's child speaks first and the first one's only after the readlink fork
# started (a new recording may keep the order)
rec_tables unshare-pid-concurrent unshare -fp --mount-proc sh -c 'sleep 0.1 & sleep 0.1 &
readlink /proc/self; wait; ls /proc >/dev/null; readlink /proc/1/ns/pid
cat /proc/2/mountinfo >/dev/null; echo $$'
# nsenter into the namespaces of a process the trace did not make (a running "container"):
# unknown to the model, which says so at the setns calls
rec_nsenter() {
    wanted nsenter-outside || return 0
    unshare -fp --mount-proc --kill-child sleep 30 & holder=$!
    sleep 0.5
    target=$(pgrep -P $holder | head -1)
    rec_tables nsenter-outside nsenter -t "$target" -p -m sh -c 'readlink /proc/self'
    kill -9 "$target" $holder 2>/dev/null || true    # pid 1 of its namespace: only SIGKILL
}
rec_nsenter
bundle() {   # an OCI bundle of busybox that prints its table (needs busybox-static and runc or crun)
    [ -f "$S/ctr/config.json" ] && return 0
    mkdir -p "$S/ctr/rootfs/bin" "$S/ctr/rootfs/proc" "$S/ctr/rootfs/sys" "$S/ctr/rootfs/dev"
    cp /bin/busybox "$S/ctr/rootfs/bin/" && ln -sf busybox "$S/ctr/rootfs/bin/cat"
    spec=$(command -v runc || command -v crun)
    (cd "$S/ctr" && $spec spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"cat", "\/proc\/self\/mountinfo"/' config.json)
}
rec_runc() {   # runc run of the bundle (needs runc)
    wanted runc-run || return 0
    bundle
    here=$PWD
    (cd "$S/ctr" && cat /proc/self/mountinfo > "$here/runc-run.mountinfo" &&
     unshare -m --propagation unchanged cat /proc/self/mountinfo > "$here/runc-run.copy" &&
     strace -f -s 65536 -o "$here/runc-run.strace" runc run mountsim-rec > /dev/null 2>&1 || true)
}
rec_runc
# crun run of the same bundle (needs crun): on this machine's hybrid cgroup layout crun gives
# up and kills its child while it waits in read() (strace: "<... read resumed> <unfinished
# ...>) = ?"); /run is a tmpfs first, for crun's state directory
rec_crun() {
    wanted crun-run || return 0
    bundle
    here=$PWD
    (cd "$S/ctr" && cat /proc/self/mountinfo > "$here/crun-run.mountinfo" &&
     unshare -m --propagation unchanged cat /proc/self/mountinfo > "$here/crun-run.copy" &&
     strace -f -s 65536 -o "$here/crun-run.strace" unshare -m --propagation private \
         sh -c 'mount -t tmpfs r /run; crun run mountsim-crun' > /dev/null 2>&1 || true)
}
rec_crun
# options other filesystems parse and print: a devpts instance remounted, mqueue, ramfs's
# mode (printed unless 0755; every other ramfs option ignored)
rec_tables fs-options        $U sh -c '
mount -t devpts -o newinstance,ptmxmode=0666 devpts /mnt
mount -t devpts -o remount,gid=5,mode=620 devpts /mnt
mount -t mqueue mq /media; mount -t ramfs -o mode=700,size=1m r /srv
mount -t ramfs -o mode=0755 r2 /opt; cat /proc/self/mountinfo'
rec_filtered() {   # rec_filtered NAME FILTER CMD...: `strace -f -e trace=FILTER`, as users
    # record just the calls they care about: no fork lines, no mkdir or close, perhaps
    name=$1; filter=$2; shift 2
    wanted "$name" || return 0
    cat /proc/self/mountinfo > "$name.mountinfo"
    unshare -m --propagation unchanged cat /proc/self/mountinfo > "$name.copy"
    strace -f -s 65536 -e trace="$filter" -o "$name.strace" "$@" > /dev/null 2>&1 || true
}
rec_filtered filtered-mount mount,umount2,unshare $U sh -c '
mount -t tmpfs x /mnt; mount --make-shared /mnt; mkdir /mnt/a /mnt/b
mount --bind /mnt/a /mnt/b; mount --bind /mnt/a /mnt/a; umount /mnt/b; umount /mnt/b
umount -R /mnt'
rec_filtered filtered-file %file $U sh -c '
mount -t tmpfs x /mnt; mount --make-shared /mnt; mkdir /mnt/a /mnt/b
mount --bind /mnt/a /mnt/b; findmnt -R /mnt; umount /mnt/b; umount /mnt'
# firejail under `-e trace=%file,mount`: it mounts on its O_PATH fds through /proc/self/fd/N,
# a use of the fd that no fd argument shows
command -v firejail > /dev/null &&
rec_filtered filtered-firejail %file,mount $U sh -c 'mount -t tmpfs none /run
firejail --quiet --noprofile --private --private-tmp --read-only=/usr true'
# fexecve (execveat(fd, "", AT_EMPTY_PATH)) of an O_PATH fd under `-e trace=%file`: the exec
# is the fd's last use, so it is still open there; busybox then reads /proc/self/exe
command -v busybox > /dev/null &&
rec_filtered filtered-fexecve %file $U /usr/bin/python3 -c 'import os
fd = os.open("/usr/bin/busybox", os.O_PATH)
os.execve(fd, ["readlink", "/proc/self/exe"], {})'
# dropping privileges: setpriv's keepcaps + setresuid + capset + setgroups, then an exec
# as uid 1000 (its capabilities recomputed); capsh's bounding-set drop; ambient capabilities
rec_tables setpriv           $U sh -c 'mount -t tmpfs -o mode=0777 t /mnt; echo hi > /mnt/secret
chmod 600 /mnt/secret; mkdir -m 700 /mnt/priv; chgrp 1000 /mnt/priv; chmod 2770 /mnt/priv
setpriv --reuid 1000 --regid 1000 --clear-groups sh -c "cat /mnt/secret; ls /mnt/priv; echo x > /mnt/secret; touch /mnt/newfile /mnt/priv/f; mkdir /mnt/priv/d; mount -t tmpfs z /mnt/priv"
setpriv --reuid 1000 --regid 1001 --groups 1000 sh -c "touch /mnt/priv/f; mkdir /mnt/priv/d; chmod 4755 /mnt/priv/f; chown 0 /mnt/priv/f"
ls -la /mnt /mnt/priv'
rec_tables capsh-drop        $U capsh --drop=cap_sys_admin,cap_sys_chroot -- -c 'mount -t tmpfs none /mnt; chroot / true; cat /proc/self/status | grep Cap'
rec_tables setpriv-ambient   $U sh -c 'mount -t tmpfs -o mode=0700 t /mnt; mkdir /mnt/d
setpriv --reuid 1000 --regid 1000 --clear-groups --inh-caps +dac_read_search,+sys_admin --ambient-caps +dac_read_search,+sys_admin sh -c "ls /mnt; mount -t tmpfs x /mnt/d; grep Cap /proc/self/status"
setpriv --reuid 1000 --regid 1000 --clear-groups ls /mnt'
rec_tables chroot-userspec   $U sh -c 'mount -t tmpfs -o mode=0755 t /mnt; mkdir -m 0700 /mnt/p
chroot --userspec=1000:1000 --groups=5,7 / sh -c "ls /mnt/p; id; touch /mnt/x"'
rec_tables install-chown     $U sh -c 'mount -t tmpfs t /mnt; mkdir /mnt/a; echo x > /mnt/a/f
install -o 1000 -g 1000 -m 0640 /mnt/a/f /mnt/b; chown -R 5:5 /mnt/a; chmod -R g+s,o-rwx /mnt/a
cp -a /mnt/a /mnt/c; ls -lnR /mnt'
rec_tables bwrap-caps        bwrap --unshare-user --uid 0 --cap-add CAP_SYS_ADMIN --cap-drop CAP_DAC_OVERRIDE \
    --dev-bind / / --tmpfs /mnt sh -c 'mkdir -m 0 /mnt/z; touch /mnt/z/f; mount -t tmpfs t /mnt/z; grep Cap /proc/self/status'
# PAM's way: runuser and su switch groups (initgroups) and uids before the exec
rec_tables runuser           $U sh -c 'mount -t tmpfs -o mode=0770,gid=5 t /mnt
runuser -u nobody -g tty -- sh -c "touch /mnt/a; id"; runuser -u nobody -- sh -c "touch /mnt/b"; ls -ln /mnt'
rec_tables su-c              $U sh -c 'mount -t tmpfs -o mode=0777 t /mnt
su -s /bin/sh -c "touch /mnt/x; mount -t tmpfs y /mnt" nobody; ls -ln /mnt'
rm -rf "$S"
