#!/usr/bin/env node
// The demo and the tests start their own redis-server from PATH. On a fresh Debian/Ubuntu machine it may be
// missing: install it when we are root and apt-get exists, otherwise stop at once with the command that fixes it.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (has('redis-server')) process.exit(0);
const fix = 'sudo apt-get update && sudo apt-get install -y redis-server';
if (process.getuid && process.getuid() === 0 && has('apt-get')) {
  console.error('rds-csi: redis-server not found; installing it with apt-get (Debian package redis-server)');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    console.error(`rds-csi: installing redis-server failed; run: ${fix}`);
    process.exit(1);
  }
  // The package enables a system-wide instance; rds-csi never uses it (every run starts its own).
  if (has('redis-server')) process.exit(0);
}
console.error(`rds-csi: redis-server is required and not on PATH. Fix: ${fix}`);
process.exit(1);
