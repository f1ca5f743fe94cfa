#!/bin/bash
# vm-ci: yes
# vm-timeout: 420
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/restart.js
# vm-summary: the plugin SIGKILLed and restarted between every pair of RPCs (stage, publish, stats, unpublish, unstage,
# vm-summary: stage, publish), each RPC re-invoked on the new process: idempotent (one controller, one mount per path,
# vm-summary: never reformatted), data written through the pod path intact after unstage + stage.
. "$VM_LIB"
node /host/dist/test/vm/guest/restart.js
rc=$?
check "restart driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
