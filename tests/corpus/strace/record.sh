#!/bin/sh
# Re-record the strace envelope corpus (as root; each program runs in its own private mount
# namespace made by util-linux unshare, so nothing reaches the host's table). One file per
# strace output variant; `plain-fork` and `ff/` run a shell that vforks four commands.
set -eu
cd "$(dirname "$0")"
ONE='unshare -m --propagation private mount -t tmpfs none /mnt'
SH='unshare -m --propagation private /bin/sh -c "mount -t tmpfs none /mnt && mkdir /mnt/a && mount --bind /mnt/a /mnt/a && umount /mnt/a"'
for v in plain: t:-t tt:-tt ttt:-ttt r:-r T:-T y:-y Xraw:"-X raw" Xverbose:"-X verbose" Xabbrev:"-X abbrev" s4:"-s 4"; do
    eval strace -f ${v#*:} -o "${v%%:*}.strace" $ONE
done
eval strace -f -o plain-fork.strace $SH
rm -rf ff && mkdir ff && eval strace -ff -tt -o ff/trace $SH
