#!/bin/bash
# vm-timeout: 240
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/outage.js
# vm-summary: a 60 s target outage (beyond keep-alive 15 s) with a write in flight: same checks as `outage`; slow, so
# vm-summary: not in the CI subset.
. "$VM_LIB"
OUTAGES=60 VOLUME_ID=pvc-vm-outage-0060 node /host/dist/test/vm/guest/outage.js
rc=$?
check "outage driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
