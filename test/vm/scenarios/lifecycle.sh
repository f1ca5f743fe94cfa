#!/bin/bash
# vm-ci: yes
# vm-timeout: 240
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/lifecycle.js
# vm-summary: one plugin start, five parts: orphan cleanup at start disconnects only a managed NQN without namespace
# vm-summary: (non-managed, look-alike prefix and a managed one with a device stay); xfs lifecycle (format, publish,
# vm-summary: data, restage not reformatted); block lifecycle (mknod node at the target, data by checksum, unpublish
# vm-summary: removes it); forced controller renumbering (new device name; stats abnormal; re-publish recovers the stale
# vm-summary: staging and target mounts); device unreadable at stage (namespace disabled; EIO with fast_io_fail 0): never
# vm-summary: formatted, the old file system mounts once the device is back.
. "$VM_LIB"
node /host/dist/test/vm/guest/lifecycle.js
rc=$?
check "lifecycle driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
