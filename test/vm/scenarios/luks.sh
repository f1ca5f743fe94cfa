#!/bin/bash
# vm-ci: yes
# vm-timeout: 600
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/luks.js
# vm-summary: encryption at rest (LUKS2, issue 15 item 2) with the real node plugin on the kernel target: an encrypted
# vm-summary: ext4 volume formatted on a blank namespace, a marker written through the pod path is not in the backing
# vm-summary: file, a 5 s outage under the open mapping keeps the data, expand grows mapping and ext4, unstage closes the
# vm-summary: mapping, wrong/missing key refused with the header unchanged, restage not reformatted, a plain ext4 volume
# vm-summary: is never formatted over, an encrypted block volume works; the passphrase is in no log line.
. "$VM_LIB"
node /host/dist/test/vm/guest/luks.js
rc=$?
check "luks driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
