#!/bin/bash
# vm-ci: yes
# vm-timeout: 240
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/controller-nvmet.js
# vm-summary: the whole driver on the kernel target: redis-server, simulator --nvmet, controller + worker (storage-side
# vm-summary: fencing) in one process, the node plugin in another; CreateVolume, ControllerPublishVolume (allowed host
# vm-summary: = the node's host NQN in configfs), stage/publish with the controller's contexts, data, ControllerExpand +
# vm-summary: NodeExpand, unpublish/unstage, ControllerUnpublish, DeleteVolume (subsystem removed).
. "$VM_LIB"
node /host/dist/test/vm/guest/controller-nvmet.js
rc=$?
check "controller-nvmet driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" "$RESULTS/controller.log" 2>/dev/null | head -20 | sed 's/^/@@   error: /'
finish
