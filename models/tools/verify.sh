#!/bin/sh
# Check every models/*.trace (or the traces given) against the running kernel (root, Linux).
# Each trace runs in its own `unshare -m --propagation private` namespace on a fresh tmpfs.
here=$(dirname "$0")
[ $# -eq 0 ] && set -- "$here"/../*.trace
exec python3 "$here/verify.py" "$@"
