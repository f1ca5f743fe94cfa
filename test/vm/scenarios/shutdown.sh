#!/bin/bash
# vm-ci: yes
# vm-timeout: 300
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/shutdown.js
# vm-summary: safe node shutdown with ctrl_loss_tmo -1 (issue 15 item 1): (b) target unreachable + plugin SIGTERM +
# vm-summary: preStop `rds-csi node shutdown --if-node-shutting-down` on a node that is not shutting down + restart:
# vm-summary: ctrl_loss_tmo stays off, mount survives the outage, data intact; (a) targets unreachable + the preStop
# vm-summary: command on a node shutdown: managed controllers deleted by the kernel within the bound, an unmanaged
# vm-summary: look-alike NQN untouched, umount of target and staging completes (times printed).
. "$VM_LIB"
node /host/dist/test/vm/guest/shutdown.js
rc=$?
check "shutdown driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
