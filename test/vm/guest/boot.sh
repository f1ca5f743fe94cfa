#!/bin/bash
# Runs inside the test VM, started by the image's PID-1 stub (scripts/vm/image/init.sh) with the scenario name.
# Prepares what every scenario needs (configfs, the NVMe/TCP target and initiator modules, loopback), then runs
# /host/test/vm/scenarios/<name>.sh under a timeout and exits with its status. Stdout goes to the serial console:
# the host streams it and keeps it as console.log.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C
SCENARIO=${1:-}
TIMEOUT=$(sed -n 's/.*\brdsvm\.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
TIMEOUT=${TIMEOUT:-240}
up() { cut -d' ' -f1 /proc/uptime; }
echo "@@ BOOT $(up) scenario=$SCENARIO timeout=${TIMEOUT}s kernel=$(uname -r)"

modprobe configfs
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
for m in nvmet nvmet-tcp nvme-tcp; do
  modprobe "$m" || { echo "@@ FATAL: modprobe $m failed"; exit 90; }
done
[ -d /sys/kernel/config/nvmet/subsystems ] || { echo "@@ FATAL: no configfs nvmet"; exit 90; }
ip link set lo up
hostname rdsvm
mkdir -p /var/lib/rds-csi-vm      # nvmet backing files: on the ext4 root, not tmpfs (no ZERO_RANGE there)
echo "@@ $(nvme version 2>&1 | head -1)"

SCRIPT=/host/test/vm/scenarios/$SCENARIO.sh
if [ -z "$SCENARIO" ] || [ ! -f "$SCRIPT" ]; then echo "@@ FATAL: no scenario script $SCRIPT"; exit 96; fi
echo "@@ SCENARIO-START $SCENARIO $(up)"
cd /tmp || exit 95
RESULTS=/results PROJECT=/host VM_LIB=/host/test/vm/guest/lib.sh timeout -k 5 "$TIMEOUT" bash "$SCRIPT"
rc=$?
case $rc in 124|137) echo "@@ FAIL: scenario timed out inside the VM after ${TIMEOUT}s" ;; esac
echo "@@ SCENARIO-END $SCENARIO rc=$rc $(up)"
dmesg > /results/dmesg.log 2>&1
exit $rc
