#!/bin/bash
# Stage 1 of the rds-csi VM image: a Debian bookworm root filesystem with Debian's kernel (nvmet, nvmet-tcp,
# nvme-tcp, configfs, 9p, dm-crypt), nvme-cli, e2fsprogs, xfsprogs, redis-server, cryptsetup (LUKS2, issue 15); an uncompressed vmlinux and a tiny
# busybox initramfs. Slow (2-5 min: debootstrap/dpkg bound), so it is cached by scripts/vm/run.js under a key
# that hashes this file: any edit here rebuilds it.
#
# Usage: base.sh OUT_DIR        (OUT_DIR must not exist; run.js renames it into the cache when this succeeds)
# Env:   MIRROR=URL             Debian mirror (default: the bookworm source of this host's apt)
# Writes OUT_DIR/{rootfs/,vmlinux (if a PVH entry could be extracted),vmlinuz,initrd.cpio,kernel-release,*.log}.
set -euo pipefail

OUT=${1:?usage: base.sh OUT_DIR}
SUITE=bookworm
PKGS=linux-image-amd64,kmod,busybox-static,nvme-cli,e2fsprogs,xfsprogs,util-linux,mount,iproute2,udev,procps,psmisc,strace,redis-server,cryptsetup-bin
ROOTFS=$OUT/rootfs

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
secs()   { local d=$(( $(now_us) - $1 )); printf '%d.%02d' $((d/1000000)) $(((d%1000000)/10000)); }
say()    { echo "[vm-image base $(date +%T)] $*"; }

detect_mirror() {
  local m=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    m=$(awk 'tolower($1)=="uris:"{u=$2} tolower($1)=="suites:"{for(i=2;i<=NF;i++) if($i=="'$SUITE'"){print u; exit}}' \
          /etc/apt/sources.list.d/*.sources | head -1)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb"{i=2; if($2 ~ /^\[/){while($i !~ /\]$/) i++; i++} if($(i+1)=="'$SUITE'"){print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$m" ] || { echo "no apt source for $SUITE under /etc/apt: set MIRROR" >&2; return 1; }
  echo "$m"
}

T_ALL=$(now_us)
mkdir -p "$OUT"
MIRROR=${MIRROR:-$(detect_mirror)}

# 1. debootstrap ------------------------------------------------------------------------------------------------
T=$(now_us)
say "debootstrap --variant=minbase $SUITE from $MIRROR"
if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOTFS" "$MIRROR" > "$OUT/debootstrap.log" 2>&1; then
  tail -40 "$OUT/debootstrap.log" >&2
  exit 1
fi
say "TIMING debootstrap: $(secs "$T") s"

# 2. customize ---------------------------------------------------------------------------------------------------
T=$(now_us)
KV=$(ls "$ROOTFS/usr/lib/modules" | sort -V | tail -1)
KM=$ROOTFS/usr/lib/modules/$KV/kernel
for m in drivers/nvme/host/nvme-tcp.ko drivers/nvme/target/nvmet.ko drivers/nvme/target/nvmet-tcp.ko \
         fs/configfs/configfs.ko fs/9p/9p.ko net/9p/9pnet_virtio.ko drivers/md/dm-crypt.ko; do
  [ -f "$KM/$m" ] || { say "MISSING kernel module $m in $KV"; exit 1; }
done
# module trees a headless virtio VM never loads (~230 MB)
rm -rf "$KM"/sound "$KM"/net/{wireless,mac80211,bluetooth} \
       "$KM"/drivers/{gpu,media,infiniband,staging,iio,bluetooth,isdn,usb,hid,mtd,hwmon,thunderbolt,video,platform} \
       "$KM"/drivers/net/{wireless,ethernet,usb,can,wwan,ieee802154}
chroot "$ROOTFS" depmod -a "$KV"
# A tiny initramfs instead of Debian's: static busybox, the modules that mount the virtio-blk ext4 root (in
# dependency order, from modprobe), an /init that loads them and switches to the root's /usr/local/sbin/rdsvm-init.
# Debian's initramfs starts udev and coldplugs every device: ~10 s more per boot under TCG.
IRD=$OUT/initramfs
mkdir -p "$IRD"/{bin,dev,proc,sys,root,m}
install -m 0755 "$ROOTFS/bin/busybox" "$IRD/bin/busybox"
n=10
for mod in $(for m in virtio_pci virtio_blk ext4; do chroot "$ROOTFS" modprobe -S "$KV" --show-depends "$m"; done \
             | awk '$1=="insmod" && !seen[$2]++ {print $2}'); do
  cp "$ROOTFS$mod" "$IRD/m/$n-$(basename "$mod")"; n=$((n+1))
done
ls "$IRD"/m/*virtio_blk.ko "$IRD"/m/*ext4.ko >/dev/null || { say "initramfs: virtio_blk/ext4 modules missing"; exit 1; }
cat > "$IRD/init" <<'EOF_RD'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in /m/*.ko; do insmod "$m" 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
if ! mount -t ext4 -o rw /dev/vda /root; then
  echo "@@ FATAL: initramfs cannot mount /dev/vda"; ls /m /dev; echo o > /proc/sysrq-trigger; sleep 30
fi
umount /proc /sys; mount --move /dev /root/dev
exec switch_root /root /usr/local/sbin/rdsvm-init
EOF_RD
chmod 0755 "$IRD/init"
(cd "$IRD" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$OUT/initrd.cpio"
rm -rf "$IRD" "$ROOTFS"/boot/initrd.img-*
echo rdsvm > "$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost rdsvm\n::1 localhost\n' > "$ROOTFS/etc/hosts"
mkdir -p "$ROOTFS/host" "$ROOTFS/results"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
       "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
say "TIMING customize: $(secs "$T") s"

# 3. boot artifacts -----------------------------------------------------------------------------------------------
# An uncompressed vmlinux (ELF with a PVH entry note) boots directly and skips the bzImage XZ decompressor, which
# costs seconds under TCG.
VMLINUZ=$ROOTFS/boot/vmlinuz-$KV
off=$(grep -abo $'\xfd7zXZ\x00' "$VMLINUZ" | head -1 | cut -d: -f1 || true)
if [ -n "$off" ]; then tail -c +$((off+1)) "$VMLINUZ" | xz -dc > "$OUT/vmlinux" 2>/dev/null || true; fi
if ! readelf -n "$OUT/vmlinux" 2>/dev/null | grep -qE 'note type: \(0x00000012\)|PHYS32_ENTRY'; then
  say "no PVH vmlinux could be extracted; the VM boots the bzImage"; rm -f "$OUT/vmlinux"
fi
cp "$VMLINUZ" "$OUT/vmlinuz"
echo "$KV" > "$OUT/kernel-release"
say "kernel $KV; rootfs $(du -sh "$ROOTFS" | cut -f1)"
say "TIMING base total: $(secs "$T_ALL") s"
