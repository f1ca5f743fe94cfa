#!/bin/bash
# vm-ci: yes
# vm-timeout: 900
# vm-timeout-per-outage: 45
# vm-params: outages=5 seed=20261205 outage-range=1-8 reconnect-delay=
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/soak.js
# vm-summary: data-plane soak (issue 17): ext4, xfs and block volumes published at once, O_DIRECT+dsync writers of
# vm-summary: checksummed sequence-numbered records and readers; N seeded target outages (one subsystem or all), a
# vm-summary: burst of 100-500 ms flaps, the plugin SIGKILLed during every tenth; no mount lost, no reformat, no
# vm-summary: record lost, no write failed; resume times and conditions measured (soak.json, soak-table.md).
# vm-summary: CI runs N=5 of 1-8 s; `run.js soak --outages 100 --seed S --outage-range 1-60` is the full soak.
. "$VM_LIB"
[ -f "$RESULTS/scenario.env" ] && set -a && . "$RESULTS/scenario.env" && set +a
echo "@@ soak parameters: OUTAGES=$OUTAGES SEED=$SEED OUTAGE_RANGE=$OUTAGE_RANGE RECONNECT_DELAY=${RECONNECT_DELAY:-default}"
node /host/dist/test/vm/guest/soak.js
rc=$?
check "soak driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" | head -20 | sed 's/^/@@   plugin error: /'
finish
