#!/usr/bin/env node
// The demo's data path grows a mounted file system (NodeExpandVolume). xfs_growfs does that without
// CAP_SYS_RESOURCE; online ext4 resize needs it, and containers and CI sandboxes often run without it. So install
// xfsprogs when we are root and apt-get exists, as ensure-redis.js does for redis-server. Never fatal: without
// mkfs.xfs the demo uses ext4 and, lacking CAP_SYS_RESOURCE, skips only the online grow (it says so).
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (has('mkfs.xfs') && has('xfs_growfs')) process.exit(0);
if (process.getuid && process.getuid() === 0 && has('apt-get')) {
  console.error('rds-csi: mkfs.xfs not found; installing xfsprogs with apt-get (Debian package xfsprogs)');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'xfsprogs'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    console.error('rds-csi: installing xfsprogs failed; the demo will use ext4');
  }
} else {
  console.error('rds-csi: mkfs.xfs not found; the demo will use ext4 (install xfsprogs to see an online grow without CAP_SYS_RESOURCE)');
}
