#!/bin/bash
# vm-ci: yes
# vm-timeout: 200
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/simulator-nvmet.js
# vm-summary: `rds-csi simulator --nvmet` exports disks as kernel NVMe/TCP subsystems: the driver's RouterOS client adds
# vm-summary: and exports a disk, the node plugin stages/publishes it (ext4, data checksums), /disk set file-size +
# vm-summary: NodeExpandVolume grow device and file system; a block volume with allow-host-name H1,H2 is connected by
# vm-summary: both hosts at once (live migration) and a third host is refused; /disk remove and simulator stop clean up.
. "$VM_LIB"
node /host/dist/test/vm/guest/simulator-nvmet.js
rc=$?
check "simulator-nvmet driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
grep -i 'nvmet' "$RESULTS/simulator.log" | head -20 | sed 's/^/@@   simulator: /'
finish
