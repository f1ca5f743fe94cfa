# Helpers for VM scenarios (sourced; bash). Results are lines starting with "@@": the host runner streams them.
#   check "what" CMD...     runs CMD, records PASS/FAIL (a scenario keeps going after a failure)
#   wait_for SECS CMD...    polls CMD every 0.1 s
#   finish                  prints the result and exits with the number of failures (0 = passed)
# nvmet (kernel NVMe/TCP target through configfs) and nvme (kernel initiator through nvme-cli) helpers below.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C
RESULTS=${RESULTS:-/results}
PROJECT=${PROJECT:-/host}
FAILS=0
PASSES=0
T_START=$(cut -d' ' -f1 /proc/uptime)

up()       { cut -d' ' -f1 /proc/uptime; }
since()    { awk -v a="$1" -v b="$(up)" 'BEGIN{printf "%.2f", b-a}'; }
log()      { echo "@@ [$(up)] $*"; }
pass()     { echo "@@ PASS: $*"; PASSES=$((PASSES+1)); }
fail()     { echo "@@ FAIL: $*"; FAILS=$((FAILS+1)); }
check()    { local d="$1"; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# centiseconds of uptime, without forking (a deadline that holds however slow the emulated CPU is)
now_cs()   { local u _; read -r u _ < /proc/uptime; u=${u/./}; echo $((10#$u)); }
wait_for() { local end=$(( $(now_cs) + $1 * 100 )); shift; while :; do "$@" && return 0; [ "$(now_cs)" -ge "$end" ] && return 1; sleep 0.1; done; }
# sleep_until T SECS: sleep until SECS seconds after uptime T (a value of $(up))
sleep_until() { local left; left=$(awk -v a="$1" -v d="$2" -v b="$(up)" 'BEGIN{x=a+d-b; printf "%.2f", (x>0?x:0)}'); sleep "$left"; }
# run a command, its output indented into the log
show()     { local tag=$1; shift; "$@" 2>&1 | sed "s/^/@@   $tag: /"; return "${PIPESTATUS[0]}"; }
finish() {
  local rc=$FAILS
  [ "$rc" -gt 100 ] && rc=100
  if [ "$FAILS" -eq 0 ]; then echo "@@ RESULT: ALL PASSED ($PASSES checks, $(since "$T_START") s)";
  else echo "@@ RESULT: $FAILS FAILED ($PASSES passed, $(since "$T_START") s)"; fi
  exit "$rc"
}

# ---- target: nvmet through configfs ---------------------------------------------------------------------------
NVMET=/sys/kernel/config/nvmet

# nvmet_port ID ADDR SVCID: the TCP port ID listening on ADDR:SVCID (created once; the listener starts when the
# first subsystem is linked into it).
nvmet_port() {
  local p=$NVMET/ports/$1
  [ -d "$p" ] && return 0
  mkdir "$p" || return 1
  echo tcp > "$p/addr_trtype"; echo ipv4 > "$p/addr_adrfam"
  echo "$2" > "$p/addr_traddr"; echo "$3" > "$p/addr_trsvcid"
}

# nvmet_export NQN FILE SIZE [HOSTNQN...]: a subsystem with FILE (sparse, created at SIZE) as namespace 1, linked
# into port 1 (127.0.0.1:4420). Without HOSTNQNs any host may connect; with them only those hosts.
nvmet_export() {
  local nqn=$1 file=$2 size=$3; shift 3
  local sub=$NVMET/subsystems/$nqn h
  mkdir -p "$(dirname "$file")" && truncate -s "$size" "$file" || return 1
  mkdir "$sub" || return 1
  if [ $# -eq 0 ]; then echo 1 > "$sub/attr_allow_any_host"; else
    echo 0 > "$sub/attr_allow_any_host"
    for h in "$@"; do
      [ -d "$NVMET/hosts/$h" ] || mkdir "$NVMET/hosts/$h" || return 1
      ln -s "$NVMET/hosts/$h" "$sub/allowed_hosts/$h" || return 1
    done
  fi
  mkdir "$sub/namespaces/1" || return 1
  echo -n "$file" > "$sub/namespaces/1/device_path"
  echo 0 > "$sub/namespaces/1/buffered_io"     # O_DIRECT on the ext4 backing file (buffered I/O gave read errors)
  echo 1 > "$sub/namespaces/1/enable" || return 1
  nvmet_port 1 127.0.0.1 4420 || return 1
  nvmet_link "$nqn"
}
nvmet_link()   { ln -s "$NVMET/subsystems/$1" "$NVMET/ports/${2:-1}/subsystems/$1"; }   # target reachable
nvmet_unlink() { rm "$NVMET/ports/${2:-1}/subsystems/$1"; }                            # outage: controllers drop
# nvmet_unexport NQN: unlink from every port, drop the namespaces and allowed hosts, remove the subsystem.
nvmet_unexport() {
  local nqn=$1 sub=$NVMET/subsystems/$1 l
  [ -d "$sub" ] || return 0
  for l in "$NVMET"/ports/*/subsystems/"$nqn"; do [ -L "$l" ] && rm "$l"; done
  for l in "$sub"/namespaces/*; do [ -d "$l" ] && { echo 0 > "$l/enable"; rmdir "$l"; }; done
  for l in "$sub"/allowed_hosts/*; do [ -L "$l" ] && rm "$l"; done
  rmdir "$sub"
}

# ---- initiator: nvme-tcp ----------------------------------------------------------------------------------------
# nvme_ctrls NQN: controller names (nvme0 ...) connected to NQN, one a line
nvme_ctrls() {
  local c
  for c in /sys/class/nvme/nvme*; do
    [ -e "$c/subsysnqn" ] && [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$1" ] && echo "${c##*/}"
  done
  return 0
}
nvme_connected()    { [ -n "$(nvme_ctrls "$1")" ]; }
nvme_disconnected() { [ -z "$(nvme_ctrls "$1")" ]; }
ctrl_state()        { cat "/sys/class/nvme/$1/state" 2>/dev/null; }
ctrl_state_is()     { [ "$(ctrl_state "$1")" = "$2" ]; }
ctrl_state_not()    { local s; s=$(ctrl_state "$1"); [ -n "$s" ] && [ "$s" != "$2" ]; }
# nvme_dev NQN: the visible namespace disk (/dev/nvmeXnY) of NQN, resolved through sysfs (no udev in the VM).
# With native multipath it hangs off the nvme-subsystem, else off the controller; both expose subsysnqn. Hidden
# per-path disks (nvmeXcYnZ) have no /dev node and are skipped.
nvme_dev() {
  local b
  for b in /sys/block/nvme*n*; do
    [ -e "$b" ] || continue
    case ${b##*/} in *c*n*) continue ;; esac
    [ "$(cat "$b/device/subsysnqn" 2>/dev/null)" = "$1" ] && [ -b "/dev/${b##*/}" ] \
      && [ "$(cat "$b/size" 2>/dev/null)" != 0 ] && { echo "/dev/${b##*/}"; return 0; }
  done
  return 1
}
nvme_dev_ready() { nvme_dev "$1" >/dev/null; }
