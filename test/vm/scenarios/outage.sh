#!/bin/bash
# vm-ci: yes
# vm-timeout: 180
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/outage.js
# vm-summary: target outages of 1 s and 10 s (port->subsystem link removed in configfs) with a write in flight through
# vm-summary: a published ext4 volume: controller leaves live, the write blocks and completes after restore, mount
# vm-summary: survives, VolumeCondition abnormal during / normal after, checksums match, same device numbers.
. "$VM_LIB"
OUTAGES=1,10 node /host/dist/test/vm/guest/outage.js
rc=$?
check "outage driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
