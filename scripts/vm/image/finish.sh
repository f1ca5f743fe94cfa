#!/bin/bash
# Stage 2 of the rds-csi VM image: the base root filesystem (stage 1) + the PID-1 stub (init.sh) + the host's
# node binary, as an ext4 disk image. Fast (~10 s); cached by scripts/vm/run.js under a key that hashes the base
# key, this file, init.sh and the node binary, so a new node on the host only redoes this stage.
#
# Usage: finish.sh BASE_DIR OUT_DIR NODE_BIN     (OUT_DIR must not exist)
# Env:   IMG_SIZE=3G   apparent size of the (sparse) root disk; nvmet backing files of the scenarios live on it
set -euo pipefail

BASE=${1:?usage: finish.sh BASE_DIR OUT_DIR NODE_BIN}
OUT=${2:?usage: finish.sh BASE_DIR OUT_DIR NODE_BIN}
NODE_BIN=${3:?usage: finish.sh BASE_DIR OUT_DIR NODE_BIN}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOTFS=$BASE/rootfs
IMG_SIZE=${IMG_SIZE:-3G}

mkdir -p "$OUT"
install -m 0755 "$HERE/init.sh" "$ROOTFS/usr/local/sbin/rdsvm-init"
install -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
# the base rootfs is shared by every image built from it: these two files are always rewritten above
truncate -s "$IMG_SIZE" "$OUT/rootfs.img"
mkfs.ext4 -q -F -L rdsvm-root -d "$ROOTFS" "$OUT/rootfs.img"
for f in vmlinux vmlinuz initrd.cpio kernel-release; do
  [ -f "$BASE/$f" ] || continue
  ln "$BASE/$f" "$OUT/$f" 2>/dev/null || cp "$BASE/$f" "$OUT/$f"
done
echo "[vm-image finish] rootfs.img $(du -h --apparent-size "$OUT/rootfs.img" | cut -f1) apparent, $(du -h "$OUT/rootfs.img" | cut -f1) allocated"
