#!/bin/bash
# vm-ci: yes
# vm-timeout: 240
# vm-summary: the kernel data plane and the tooling end to end, without the project: nvmet-tcp target through
# vm-summary: configfs, allowed host NQN enforced, nvme connect with a host NQN, device found by NQN in sysfs,
# vm-summary: ext4 mkfs/mount/write, 2 s outage with a write in flight, checksums after restore, disconnect.
. "$VM_LIB"

NQN=nqn.2026-11.com.mikrotik.rds-csi.vmtest:smoke
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-00000000a001
OTHERNQN=nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-00000000b002
BACKING=/var/lib/rds-csi-vm/smoke.img
MNT=/mnt/smoke
CONNECT=(-t tcp -a 127.0.0.1 -s 4420 -n "$NQN" --ctrl-loss-tmo=-1 --reconnect-delay=1)

# ---- target ----------------------------------------------------------------------------------------------------
check "nvmet subsystem exported on 127.0.0.1:4420, allowed host $HOSTNQN" nvmet_export "$NQN" "$BACKING" 512M "$HOSTNQN"
wait_for 5 sh -c "ss -Hltn | grep -q '127.0.0.1:4420 '"   # ss, not /proc/net/tcp: the kernel listener is not listed there
check "target listening on 127.0.0.1:4420" sh -c "ss -Hltn | grep -q '127.0.0.1:4420 '"
nvme discover -t tcp -a 127.0.0.1 -s 4420 --hostnqn "$HOSTNQN" > /tmp/discover.txt 2>&1
sed 's/^/@@   discover: /' /tmp/discover.txt
check "discovery on 127.0.0.1:4420 lists the subsystem" grep -q "subnqn: *$NQN\$" /tmp/discover.txt

# ---- host NQN enforcement ----------------------------------------------------------------------------------------
show connect-other nvme connect "${CONNECT[@]}" --hostnqn "$OTHERNQN"
rc=$?
check "connect with a host NQN not allowed is refused (exit $rc)" [ "$rc" -ne 0 ]
check "no controller for $NQN after the refused connect" nvme_disconnected "$NQN"

# ---- connect -----------------------------------------------------------------------------------------------------
T=$(up)
show connect nvme connect "${CONNECT[@]}" --hostnqn "$HOSTNQN"
rc=$?
check "nvme connect --hostnqn (allowed host, exit $rc)" [ "$rc" = 0 ]
wait_for 15 nvme_dev_ready "$NQN"
DEV=$(nvme_dev "$NQN")
CTRL=$(nvme_ctrls "$NQN" | head -1)
log "connect -> $DEV ready in $(since "$T") s (controller $CTRL)"
check "namespace block device found by NQN in /sys/block ($DEV)" [ -b "$DEV" ]
check "controller $CTRL found by NQN in /sys/class/nvme" [ -n "$CTRL" ]
check "controller uses the host NQN given" [ "$(cat /sys/class/nvme/"$CTRL"/hostnqn 2>/dev/null)" = "$HOSTNQN" ]
check "controller transport tcp, state live" sh -c "[ \"\$(cat /sys/class/nvme/$CTRL/transport)\" = tcp ] && [ \"\$(cat /sys/class/nvme/$CTRL/state)\" = live ]"
check "device size is the backing file's (512 MiB)" [ "$(cat /sys/block/"${DEV##*/}"/size 2>/dev/null)" = $((512*2048)) ]
show lsblk lsblk -o NAME,SIZE,TYPE,MODEL "$DEV"

# ---- file system + data ----------------------------------------------------------------------------------------------
mkdir -p "$MNT"
check "mkfs.ext4 $DEV" mkfs.ext4 -q -F "$DEV"
check "mount $DEV $MNT" mount "$DEV" "$MNT"
dd if=/dev/urandom of=/tmp/blob.src bs=1M count=8 status=none
dd if=/dev/urandom of=/tmp/outage.src bs=1M count=4 status=none
SUM_BLOB=$(sha256sum < /tmp/blob.src)
SUM_OUTAGE=$(sha256sum < /tmp/outage.src)
check "8 MiB written with fsync" dd if=/tmp/blob.src of="$MNT/blob.bin" bs=1M conv=fsync status=none

# ---- 2 s target outage with a write in flight --------------------------------------------------------------------
log "OUTAGE: unlinking port 1 -> $NQN"
T_OUT=$(up)
check "port->subsystem link removed" nvmet_unlink "$NQN"
wait_for 10 ctrl_state_not "$CTRL" live
log "controller state after unlink: $(ctrl_state "$CTRL")"
check "controller left 'live' during the outage ($(ctrl_state "$CTRL"))" ctrl_state_not "$CTRL" live
( dd if=/tmp/outage.src of="$MNT/outage.bin" bs=1M conv=fsync status=none; echo "rc=$?" > /tmp/outage.rc ) &
DD=$!
sleep_until "$T_OUT" 1.7     # the checks below take the rest of the 2 s
check "write issued during the outage is blocked, not failed" kill -0 "$DD"
check "no write error reported during the outage" [ ! -e /tmp/outage.rc ]
check "mount present during the outage" findmnt -n "$MNT"
log "RESTORE: relinking $(since "$T_OUT") s after the unlink"
T_RE=$(up)
check "port->subsystem link restored" nvmet_link "$NQN"
wait_for 30 ctrl_state_is "$CTRL" live
check "controller live again ($(since "$T_RE") s after restore)" ctrl_state_is "$CTRL" live
wait_for 30 test -s /tmp/outage.rc
check "write in flight completed after restore ($(cat /tmp/outage.rc 2>/dev/null))" grep -q '^rc=0$' /tmp/outage.rc
log "outage total: $(since "$T_OUT") s"

# ---- verify from the device --------------------------------------------------------------------------------------------
sync
echo 3 > /proc/sys/vm/drop_caches
check "blob checksum matches after the outage" [ "$(sha256sum < "$MNT/blob.bin")" = "$SUM_BLOB" ]
check "outage write checksum matches" [ "$(sha256sum < "$MNT/outage.bin")" = "$SUM_OUTAGE" ]
check "same block device after reconnect ($DEV)" [ "$(nvme_dev "$NQN")" = "$DEV" ]
check "umount $MNT" umount "$MNT"
check "mount again: file system clean, data intact" sh -c "mount $DEV $MNT && [ \"\$(sha256sum < $MNT/blob.bin)\" = '$SUM_BLOB' ] && umount $MNT"

# ---- teardown -----------------------------------------------------------------------------------------------------------
show disconnect nvme disconnect -n "$NQN"
wait_for 10 nvme_disconnected "$NQN"
check "controller gone after nvme disconnect -n" nvme_disconnected "$NQN"
check "subsystem removed from configfs" nvmet_unexport "$NQN"
finish
