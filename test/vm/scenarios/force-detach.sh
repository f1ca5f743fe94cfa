#!/bin/bash
# vm-ci: yes
# vm-timeout: 200
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/force-detach.js
# vm-summary: storage-side fencing after node loss on the kernel target: host A (A's host NQN) connected and writing,
# vm-summary: `rds-csi volumes detach --node A --force` through the controller's fence.detach job; A's host NQN leaves
# vm-summary: allowed_hosts, A's reconnect (controller reset) and a fresh connect are refused by nvmet, B is published,
# vm-summary: connects and reads A's data intact.
. "$VM_LIB"
node /host/dist/test/vm/guest/force-detach.js
rc=$?
check "force-detach driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/controller.log" 2>/dev/null | head -20 | sed 's/^/@@   error: /'
finish
