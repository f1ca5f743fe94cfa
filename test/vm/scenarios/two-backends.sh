#!/bin/bash
# vm-ci: yes
# vm-timeout: 300
# vm-requires: file dist/src/cli/main.js
# vm-requires: file dist/test/vm/guest/two-backends.js
# vm-summary: two RDS backends of one driver (issue 16): simulator --nvmet on 127.0.0.1:4420 (default) and on
# vm-summary: 127.0.0.2:4421 (rds-b), controller + worker in one process, the node plugin with node.backends listing both
# vm-summary: but no route to 127.0.0.2 (ip rule unreachable); NodeGetInfo = the primary's segment only, CreateVolume on
# vm-summary: rds-b with the node's segment as requisite → RESOURCE_EXHAUSTED, an rds-b volume is on the second port only
# vm-summary: and NodeStage of it → FAILED_PRECONDITION (nothing connected); a primary volume the whole way.
. "$VM_LIB"
# rds-b's NVMe/TCP address. Linux routes all of 127.0.0.0/8 to lo (local table); add it to lo if this kernel does not.
B=127.0.0.2 BPORT=4421
LISTENER=nqn.2026-12.test.rds-csi-vm:two-backends-listener
ip route get $B | grep -q '^local ' || ip addr add $B/32 dev lo
check "$B is a local address (loopback alias): $(ip route get $B | head -1)" bash -c "ip route get $B | grep -q '^local '"
# Both backends' NVMe/TCP ports listen before any node process starts, as an RDS's always do (nvmet listens only on
# a port with a subsystem linked; the simulators make their port at their first export): one listener subsystem,
# without namespace and without allowed host, linked into port 8 (127.0.0.1:4420) and port 9 ($B:$BPORT). Each
# simulator reuses the port with its address and port.
nvmet_port 8 127.0.0.1 4420 && nvmet_port 9 $B $BPORT && mkdir $NVMET/subsystems/$LISTENER &&
  echo 0 > $NVMET/subsystems/$LISTENER/attr_allow_any_host &&
  ln -s $NVMET/subsystems/$LISTENER $NVMET/ports/8/subsystems/$LISTENER && ln -s $NVMET/subsystems/$LISTENER $NVMET/ports/9/subsystems/$LISTENER
tcp_to() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1; }
check "the targets listen on 127.0.0.1:4420 and $B:$BPORT" bash -c "ss -ltnH | grep -q ' 127.0.0.1:4420 ' && ss -ltnH | grep -q ' $B:$BPORT '"
check "before the rule: a TCP connect to $B:$BPORT succeeds" tcp_to $B $BPORT
# This node has no route to rds-b: a routing rule before the local table's (moved from pref 0 to 100). The image has
# no iptables/nft; this is the firewall iproute2 gives, and it fails a connect at once (ENETUNREACH), as for a node on
# a network without a route to the second RDS.
ip rule add pref 10 to $B/32 unreachable && ip rule add pref 100 lookup local && ip rule del pref 0 lookup local
show "ip rule" ip rule
out=$(tcp_to $B $BPORT); rc=$?
check "after the rule: this node cannot reach $B:$BPORT ($out)" [ $rc != 0 ]
check "after the rule: 127.0.0.1:4420 still reachable" tcp_to 127.0.0.1 4420
check "the target still listens on $B:$BPORT" bash -c "ss -ltnH | grep -q ' $B:$BPORT '"

node /host/dist/test/vm/guest/two-backends.js
rc=$?
check "two-backends driver: every check passed (exit $rc)" [ "$rc" = 0 ]
grep -E '"level":(50|60)' "$RESULTS/node-plugin.log" "$RESULTS/controller.log" 2>/dev/null | head -20 | sed 's/^/@@   error: /'
# the listener goes last (the simulators removed their subsystems and ports when they stopped)
rm -f $NVMET/ports/[89]/subsystems/$LISTENER; rmdir $NVMET/subsystems/$LISTENER $NVMET/ports/8 $NVMET/ports/9 2>/dev/null
check "nothing left in configfs: subsystems [$(ls $NVMET/subsystems)] ports [$(ls $NVMET/ports)]" [ -z "$(ls $NVMET/subsystems)$(ls $NVMET/ports)" ]
finish
