#!/bin/bash
# vm-ci: yes
# vm-timeout: 240
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/two-backends.js
# vm-summary: two RDS backends of one driver (issue 16): simulator --nvmet on 127.0.0.1:4420 (default) and on
# vm-summary: 127.0.0.2:4421 (rds-b), controller + worker in one process, the node plugin with node.backends listing both
# vm-summary: but no route to 127.0.0.2 (ip rule unreachable); NodeGetInfo = the primary's segment only, CreateVolume on
# vm-summary: rds-b with the node's segment as requisite → RESOURCE_EXHAUSTED, an rds-b volume is on the second port only
# vm-summary: and NodeStage of it → FAILED_PRECONDITION (nothing connected); a primary volume the whole way.
. "$VM_LIB"
node /host/dist/test/vm/guest/two-backends.js
rc=$?
check "two-backends driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" "$RESULTS/controller.log" 2>/dev/null | head -20 | sed 's/^/@@   error: /'
finish
