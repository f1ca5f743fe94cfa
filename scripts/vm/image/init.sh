#!/bin/bash
# PID 1 of the rds-csi test VM (kernel cmdline init=/usr/local/sbin/rdsvm-init). Kept minimal on purpose: it is
# baked into the cached image, while everything a scenario does lives in the repository and is read from /host.
# Mounts the kernel file systems, the project and the results share, runs /host/test/vm/guest/boot.sh with the
# scenario named on the kernel command line, writes its exit status to /results/exit-status, powers off.
#   /host     the project, read-only: by default an ext4 disk labelled rdsvm-host (a snapshot of the project the
#             host runner makes per run; node loads modules ~5x faster than over 9p), or with rdsvm.host=9p the
#             virtio-9p share tagged "host"
#   /results  this run's result directory on the host (read-write virtio-9p share, tag "results")
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
echo "@@ INIT $(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r)"

arg() { sed -n "s/.*\\brdsvm\\.$1=\\([^ ]*\\).*/\\1/p" /proc/cmdline; }
SCENARIO=$(arg scenario)
rc=99
modprobe 9pnet_virtio && modprobe 9p
mount_host() {
  if [ "$(arg host)" = 9p ]; then mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro host /host
  else mount -t ext4 -o ro -L rdsvm-host /host; fi
}
if mount_host && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /results; then
  # no pipe here: a process stuck in D state (I/O to a target that is gone) would hold it open forever
  if [ -f /host/test/vm/guest/boot.sh ]; then
    bash /host/test/vm/guest/boot.sh "$SCENARIO"
    rc=$?
  else
    echo "@@ FATAL: /host/test/vm/guest/boot.sh not found in /host"; rc=98
  fi
  echo "$rc" > /results/exit-status
  timeout 10 sync -f /results/exit-status   # never a global sync: a dead NVMe mount would block it
else
  echo "@@ FATAL: cannot mount /host or /results"; rc=97
fi
echo "@@ EXIT-STATUS $rc"
echo "@@ POWEROFF"
echo o > /proc/sysrq-trigger      # immediate; the root disk is a throw-away snapshot
sleep 30
