#!/bin/bash
# vm-timeout: 240
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/node-plugin.js
# vm-requires: cmd node dist/src/cli/main.js node --help
# vm-summary: the real `rds-csi node` (nvme-tcp connector) over gRPC like kubelet: Identity, NodeGetInfo, stage
# vm-summary: (connect by NQN, mkfs ext4, mount), publish, data checksums, stats, unpublish, unstage (disconnect),
# vm-summary: stage again without reformatting; both stage and publish re-invoked (idempotent).
. "$VM_LIB"

PREFIX=nqn.2026-11.com.mikrotik.rds-csi
VOLUME_ID=pvc-vm-node-0001
NQN=$PREFIX:$VOLUME_ID
ENDPOINT=unix:///run/csi.sock
export NODE_OPTIONS=--enable-source-maps

check "nvmet subsystem $NQN exported (any host)" nvmet_export "$NQN" "/var/lib/rds-csi-vm/$VOLUME_ID.img" 256M

# ---- the plugin ----------------------------------------------------------------------------------------------------
T=$(up)
node /host/dist/src/cli/main.js node --endpoint "$ENDPOINT" --node-id vm1 --connector nvme-tcp \
  --nqn-prefix "$PREFIX" --log-level debug > "$RESULTS/node-plugin.log" 2>&1 &
PLUGIN=$!
wait_for 60 test -S /run/csi.sock
check "rds-csi node listening on $ENDPOINT ($(since "$T") s after start)" test -S /run/csi.sock
check "rds-csi node still running" kill -0 "$PLUGIN"

# ---- kubelet's calls -------------------------------------------------------------------------------------------------
CSI_ENDPOINT=$ENDPOINT VOLUME_ID=$VOLUME_ID NQN=$NQN NODE_ID=vm1 TARGET_ADDRESS=127.0.0.1 TARGET_PORT=4420 \
  node /host/dist/test/vm/guest/node-plugin.js
rc=$?
check "gRPC driver: every step passed (exit $rc)" [ "$rc" = 0 ]

# ---- stop and clean up --------------------------------------------------------------------------------------------------
kill -TERM "$PLUGIN" 2>/dev/null
wait_for 15 sh -c "! kill -0 $PLUGIN 2>/dev/null"
check "rds-csi node stopped on SIGTERM" sh -c "! kill -0 $PLUGIN 2>/dev/null"
kill -KILL "$PLUGIN" 2>/dev/null
if nvme_connected "$NQN"; then fail "controller for $NQN left connected"; nvme disconnect -n "$NQN" >/dev/null 2>&1; fi
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
check "subsystem removed from configfs" nvmet_unexport "$NQN"
finish
