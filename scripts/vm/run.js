#!/usr/bin/env node
// rds-csi real-kernel test tier: build (once, cached) a small Debian VM with the kernel's NVMe/TCP target
// (nvmet-tcp) and initiator (nvme-tcp), boot it under QEMU (software emulation) with this project read-only at
// /host (a snapshot disk made per run, or the live virtio-9p share), run one scenario (test/vm/scenarios/<name>.sh)
// per boot, collect its exit status and logs through a virtio-9p share (/results), print a table.
//
//   node scripts/vm/run.js [SCENARIO...]   all scenarios when none is named (smoke first)
//     --ci              the CI subset: scenarios with a `# vm-ci: yes` header (plus any named)
//     --list            list the scenarios (CI subset marked *) and exit
//     --build-only      build the image if needed, run nothing
//     --rebuild         rebuild the image (both stages) even when the cache is current
//     --strict          a scenario whose prerequisites are missing (PENDING) fails the run
//     --retry-failed    run a failed scenario once more (emulation timing); a pass on retry is printed as
//                       RETRIED PASS and counted apart in the closing line and summary.json (retriedPasses)
//     --timeout SECS    override every scenario's timeout
//     --outages N --seed S --outage-range MIN-MAX --reconnect-delay SECS
//                       parameters of scenarios that declare them (`# vm-params:`, e.g. soak); written to the scenario's
//                       result directory as `scenario.env` (the guest sees /results/scenario.env); a scenario with
//                       `# vm-timeout-per-outage:` gets the header timeout + outages x (MAX + that) seconds
//
// Environment: RDS_CSI_VM_CACHE (default /var/cache/rds-csi-vm), RDS_CSI_VM_MEM (MiB, 1536), RDS_CSI_VM_CPUS (2),
// RDS_CSI_VM_VERBOSE=1 (full kernel console, every console line echoed), MIRROR (Debian mirror for debootstrap),
// RDS_CSI_VM_HOST=9p (share the project over virtio-9p instead of the snapshot disk: live, but node loads ~5x slower).
// Needs root to build the image (debootstrap) and installs missing host tools with apt-get.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { countsLine, retriedPassLine, tally } = require('./summary');

// Every tree this script removes goes through the project's safe removal (src/host/safe-remove.ts): an interrupted
// debootstrap can leave proc/sys mounted inside its target, and rm -r would descend into them. dist/ is built by
// `npm run test:vm` (pretest:vm) and by `npm test` before .ci/run gets here.
function rmTree(p) {
  let removeDirSafely;
  try {
    ({ removeDirSafely } = require('../../dist/src/host/safe-remove'));
  } catch {
    die('dist/ is not built: run `npm run build` first (scripts/vm/run.js removes trees with dist/src/host/safe-remove.js)');
  }
  removeDirSafely(p);
}

const ROOT = path.resolve(__dirname, '../..');
const IMAGE_SRC = path.join(__dirname, 'image');
const SCENARIOS = path.join(ROOT, 'test/vm/scenarios');
const CACHE = path.resolve(process.env.RDS_CSI_VM_CACHE || '/var/cache/rds-csi-vm');
const MEM = process.env.RDS_CSI_VM_MEM || '1536';
const CPUS = process.env.RDS_CSI_VM_CPUS || '2';
const VERBOSE = process.env.RDS_CSI_VM_VERBOSE === '1';
const HOST_9P = process.env.RDS_CSI_VM_HOST === '9p';
const BUILD_TIMEOUT_S = 1800;
const KEEP_RUNS = 20;

const t0 = Number(process.env.RDS_CSI_VM_T0) || Date.now(); // the locked build child continues the parent's clock
const secs = (from, to = Date.now()) => ((to - from) / 1000).toFixed(1);
const say = (msg) => console.log(`[vm ${secs(t0).padStart(6)}s] ${msg}`);
const die = (msg, code = 2) => {
  console.error(`rds-csi vm: ${msg}`);
  process.exit(code);
};

// Scenario parameters (validated here, passed to the guest as /results/scenario.env: OUTAGES=, SEED=, ...).
const PARAM_FLAGS = {
  '--outages': /^[1-9][0-9]{0,3}$/,
  '--seed': /^[0-9]{1,9}$/,
  '--outage-range': /^[0-9]+(\.[0-9]+)?-[0-9]+(\.[0-9]+)?$/,
  '--reconnect-delay': /^[1-9][0-9]{0,2}$/,
};

/** The scenario's parameters: its `# vm-params:` defaults overridden by the command line (only names it declares). */
function scenarioParams(sc, given) {
  const p = { ...sc.params };
  for (const [k, v] of Object.entries(given)) if (k in p) p[k] = v;
  return p;
}

/** Host budget: the header timeout, plus for a soak N x (the longest outage + the per-outage margin). */
function scenarioTimeout(sc, params) {
  if (!sc.perOutage || !params.outages) return sc.timeout;
  const max = Number(String(params['outage-range'] ?? '1-60').split('-')[1]);
  return Math.ceil(sc.timeout + Number(params.outages) * (max + sc.perOutage));
}

// ---- arguments -----------------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = { names: [], ci: false, list: false, buildOnly: false, rebuild: false, strict: false, retryFailed: false, timeout: undefined, params: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--list') o.list = true;
    else if (a === '--ci') o.ci = true;
    else if (a === '--build-only') o.buildOnly = true;
    else if (a === '--rebuild') o.rebuild = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--retry-failed') o.retryFailed = true;
    else if (a === '--timeout') {
      o.timeout = Number(argv[++i]);
      if (!Number.isInteger(o.timeout) || o.timeout < 30) die('--timeout needs whole seconds >= 30');
    } else if (PARAM_FLAGS[a]) {
      const v = argv[++i];
      if (v === undefined || !PARAM_FLAGS[a].test(v)) die(`${a} needs ${PARAM_FLAGS[a].source}`);
      o.params[a.slice(2)] = v;
    } else if (a === '-h' || a === '--help') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1);
      console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option ${a} (see --help)`);
    else o.names.push(a);
  }
  return o;
}

// ---- scenarios -------------------------------------------------------------------------------------------------------
// Header lines of test/vm/scenarios/<name>.sh:
//   # vm-timeout: SECS               whole boot + scenario budget on the host (default 300)
//   # vm-requires: file REL_PATH     a project file that must exist (e.g. a build output)
//   # vm-requires: cmd ARGV...       a command run on the host from the project root that must exit 0
//   # vm-summary: TEXT               what the scenario proves (several lines are joined)
//   # vm-ci: yes                     part of the CI subset (--ci)
//   # vm-params: k=v ...             parameters and their defaults (the CI run uses the defaults), see PARAM_FLAGS
//   # vm-timeout-per-outage: SECS    timeout = vm-timeout + outages x (longest outage + SECS)
function loadScenarios() {
  const files = fs.readdirSync(SCENARIOS).filter((f) => f.endsWith('.sh')).sort();
  const list = files.map((f) => {
    const text = fs.readFileSync(path.join(SCENARIOS, f), 'utf8');
    const sc = { name: f.slice(0, -3), timeout: 300, requires: [], summary: [], ci: false, params: {}, perOutage: 0 };
    for (const line of text.split('\n')) {
      const m = /^# vm-(timeout|requires|summary|ci|params|timeout-per-outage):\s*(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === 'timeout') sc.timeout = Number(m[2]);
      else if (m[1] === 'timeout-per-outage') sc.perOutage = Number(m[2]);
      else if (m[1] === 'params') for (const kv of m[2].trim().split(/\s+/)) sc.params[kv.split('=')[0]] = kv.slice(kv.indexOf('=') + 1);
      else if (m[1] === 'ci') sc.ci = m[2].trim() === 'yes';
      else if (m[1] === 'requires') sc.requires.push(m[2].trim());
      else sc.summary.push(m[2].trim());
    }
    sc.summary = sc.summary.join(' ');
    return sc;
  });
  return list.sort((a, b) => (a.name === 'smoke' ? -1 : b.name === 'smoke' ? 1 : a.name.localeCompare(b.name)));
}

/** The reason a scenario cannot run yet, or undefined. */
function missingRequirement(sc) {
  for (const r of sc.requires) {
    const [kind, ...rest] = r.split(/\s+/);
    if (kind === 'file') {
      if (!fs.existsSync(path.join(ROOT, rest[0]))) return `${rest[0]} is missing (npm run build?)`;
    } else if (kind === 'cmd') {
      const argv = rest.map((x) => (x === 'node' ? process.execPath : x));
      const r2 = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, stdio: 'ignore', timeout: 60000 });
      if (r2.status !== 0) return `\`${rest.join(' ')}\` fails on the host`;
    } else return `unknown requirement ${r}`;
  }
  return undefined;
}

// ---- host tools --------------------------------------------------------------------------------------------------------
function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureHostTools(forBuild) {
  const need = new Set();
  if (!has('qemu-system-x86_64')) need.add('qemu-system-x86');
  if (!has('flock') || !has('timeout')) need.add('util-linux').add('coreutils');
  if (forBuild) {
    if (!has('debootstrap')) need.add('debootstrap');
    if (!has('mkfs.ext4')) need.add('e2fsprogs');
    if (!has('xz')) need.add('xz-utils');
    if (!has('readelf')) need.add('binutils');
    if (!has('cpio')) need.add('cpio');
  }
  if (need.size === 0) return 0;
  const pkgs = [...need];
  if (process.getuid() !== 0 || !has('apt-get')) die(`missing host tools; install them: apt-get install ${pkgs.join(' ')}`);
  const t = Date.now();
  say(`installing host packages with apt-get: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  fs.mkdirSync(CACHE, { recursive: true });
  const logFile = path.join(CACHE, 'apt-get.log');
  const logFd = fs.openSync(logFile, 'w');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', logFd, logFd], env, timeout: 900000 });
    if (r.status !== 0) {
      fs.closeSync(logFd);
      process.stderr.write(fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n'));
      die(`apt-get ${args[0]} failed (log: ${logFile})`, 1);
    }
  }
  fs.closeSync(logFd);
  say(`host packages installed in ${secs(t)} s`);
  return (Date.now() - t) / 1000;
}

// ---- image cache ---------------------------------------------------------------------------------------------------------
const sha = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

function nodeBinary() {
  return fs.realpathSync(process.execPath);
}

/** Cache keys: stage 1 (base.sh) and stage 2 (base key + finish.sh + init.sh + the node binary). */
function cacheKeys() {
  const base = sha('rds-csi-vm base v1', fs.readFileSync(path.join(IMAGE_SRC, 'base.sh'))).slice(0, 16);
  const node = sha(fs.readFileSync(nodeBinary()));
  const image = sha('rds-csi-vm image v1', base, fs.readFileSync(path.join(IMAGE_SRC, 'finish.sh')), fs.readFileSync(path.join(IMAGE_SRC, 'init.sh')), node).slice(0, 16);
  return { base, image, baseDir: path.join(CACHE, `base-${base}`), imageDir: path.join(CACHE, `image-${image}`) };
}

const imageReady = (dir) => fs.existsSync(path.join(dir, 'manifest.json'));

/** Build what is missing, under an exclusive lock on the cache (re-executes this script under flock). */
function ensureImage(rebuild) {
  const k = cacheKeys();
  if (imageReady(k.imageDir) && !rebuild) return { dir: k.imageDir, keys: k, built: false };
  fs.mkdirSync(CACHE, { recursive: true });
  if (process.env.RDS_CSI_VM_LOCKED !== '1') {
    const args = ['-w', String(BUILD_TIMEOUT_S), path.join(CACHE, '.build.lock'), process.execPath, __filename, '--build-only', ...(rebuild ? ['--rebuild'] : [])];
    const r = spawnSync('flock', args, { stdio: 'inherit', env: { ...process.env, RDS_CSI_VM_LOCKED: '1', RDS_CSI_VM_T0: String(t0) } });
    if (r.status !== 0) die('image build failed', 1);
    const manifest = JSON.parse(fs.readFileSync(path.join(k.imageDir, 'manifest.json'), 'utf8'));
    return { dir: k.imageDir, keys: k, built: true, manifest };
  }
  return { dir: buildImage(k, rebuild), keys: k, built: true };
}

function runStep(label, argv, env = {}) {
  const t = Date.now();
  const r = spawnSync('timeout', ['-k', '10', String(BUILD_TIMEOUT_S), ...argv], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) die(`${label} failed (exit ${r.status}${r.status === 124 ? ', timed out' : ''})`, 1);
  return (Date.now() - t) / 1000;
}

function buildImage(k, rebuild) {
  if (process.getuid() !== 0) die('building the VM image needs root (debootstrap)');
  const timings = { hostPackages: ensureHostTools(true) };
  // under the lock: left-over temp dirs are from interrupted builds
  for (const e of fs.readdirSync(CACHE)) if (e.includes('.tmp-')) rmTree(path.join(CACHE, e));
  if (rebuild) rmTree(k.baseDir);
  if (!fs.existsSync(path.join(k.baseDir, 'kernel-release'))) {
    const tmp = `${k.baseDir}.tmp-${process.pid}`;
    say(`building the VM base image (debootstrap; ~2 min) into ${tmp}`);
    timings.base = runStep('base image (scripts/vm/image/base.sh)', ['bash', path.join(IMAGE_SRC, 'base.sh'), tmp]);
    fs.renameSync(tmp, k.baseDir);
  }
  rmTree(k.imageDir);
  const tmp = `${k.imageDir}.tmp-${process.pid}`;
  say(`building the VM disk image into ${tmp}`);
  timings.finish = runStep('disk image (scripts/vm/image/finish.sh)', ['bash', path.join(IMAGE_SRC, 'finish.sh'), k.baseDir, tmp, nodeBinary()]);
  const manifest = {
    baseKey: k.base,
    imageKey: k.image,
    kernel: fs.readFileSync(path.join(k.baseDir, 'kernel-release'), 'utf8').trim(),
    node: process.version,
    nodeBinary: nodeBinary(),
    builtAt: new Date().toISOString(),
    timings,
  };
  fs.writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(tmp, k.imageDir);
  // only the current base and image stay in the cache
  for (const e of fs.readdirSync(CACHE)) {
    if ((e.startsWith('base-') && e !== path.basename(k.baseDir)) || (e.startsWith('image-') && e !== path.basename(k.imageDir))) {
      say(`removing stale cache entry ${e}`);
      rmTree(path.join(CACHE, e));
    }
  }
  say(`image ready: ${k.imageDir} (kernel ${manifest.kernel}, node ${manifest.node}); ${JSON.stringify(timings)}`);
  return k.imageDir;
}

// ---- the project as a disk ------------------------------------------------------------------------------------------------
// Node resolves and reads ~1,400 files and ~4,500 stats to start `rds-csi`; over virtio-9p under TCG that took 47-58 s
// in the VM, from a local ext4 disk 9-10 s. So /host is by default a read-only ext4 image of the project (node_modules
// and dist included, made with mkfs.ext4 -d in ~2 s), which is also a consistent snapshot while others rebuild dist.
function buildProjectDisk(runRoot) {
  const t = Date.now();
  const img = path.join(runRoot, 'project.img');
  const du = spawnSync('du', ['-sb', ROOT], { encoding: 'utf8' });
  const bytes = Number((du.stdout || '').split(/\s/)[0]) || 1 << 30;
  const size = Math.ceil((bytes * 1.5 + 256 * 2 ** 20) / 2 ** 20);
  fs.writeFileSync(img, '');
  fs.truncateSync(img, size * 2 ** 20);
  // one inode per 4 KiB: node_modules is ~20,000 small files; no journal on a read-only snapshot
  const args = ['-q', '-F', '-L', 'rdsvm-host', '-O', '^has_journal', '-m', '0', '-i', '4096', '-E', 'root_owner=0:0', '-d', ROOT, img];
  let r;
  for (let attempt = 1; attempt <= 3; attempt++) {
    // a file that vanishes while it is copied (someone rebuilding dist) fails mkfs: try again
    r = spawnSync('mkfs.ext4', args, { encoding: 'utf8', timeout: 300000 });
    if (r.status === 0) break;
    say(`mkfs.ext4 -d ${ROOT} failed (attempt ${attempt}): ${(r.stderr || String(r.error)).trim()}`);
  }
  if (r.status !== 0) die(`cannot make the project disk from ${ROOT}`, 1);
  say(`project disk ${img}: ${(bytes / 2 ** 20).toFixed(0)} MiB of files in ${secs(t)} s`);
  return img;
}

// ---- one VM boot per scenario ----------------------------------------------------------------------------------------------
let current; // the running QEMU child, killed on SIGINT/SIGTERM

function runScenario(sc, imageDir, projectDisk, runDir, timeoutS, params = {}) {
  return new Promise((resolve) => {
    fs.mkdirSync(runDir, { recursive: true });
    const env = Object.entries(params).map(([k, v]) => `${k.toUpperCase().replace(/-/g, '_')}=${v}\n`);
    if (env.length) fs.writeFileSync(path.join(runDir, 'scenario.env'), env.join(''));
    const kernel = fs.existsSync(path.join(imageDir, 'vmlinux')) ? path.join(imageDir, 'vmlinux') : path.join(imageDir, 'vmlinuz');
    const guestTimeout = Math.max(20, timeoutS - 45); // boot (~10 s) and power-off fit in the rest
    const append = [
      'console=ttyS0',
      'root=/dev/vda',
      'rw',
      'init=/usr/local/sbin/rdsvm-init',
      'panic=-1',
      ...(VERBOSE ? [] : ['quiet']),
      `rdsvm.scenario=${sc.name}`,
      `rdsvm.timeout=${guestTimeout}`,
      `rdsvm.host=${projectDisk ? 'disk' : '9p'}`,
    ].join(' ');
    const hostArgs = projectDisk
      ? ['-drive', `file=${projectDisk},format=raw,if=virtio,readonly=on`]
      : ['-virtfs', `local,path=${ROOT},mount_tag=host,security_model=none,readonly=on,id=host`];
    const args = [
      '-accel', 'tcg,thread=multi', '-cpu', 'max', '-m', MEM, '-smp', CPUS,
      '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-nic', 'none',
      '-kernel', kernel, '-initrd', path.join(imageDir, 'initrd.cpio'), '-append', append,
      '-drive', `file=${path.join(imageDir, 'rootfs.img')},format=raw,if=virtio,snapshot=on`,
      ...hostArgs,
      '-virtfs', `local,path=${runDir},mount_tag=results,security_model=none,id=results`,
    ];
    fs.writeFileSync(path.join(runDir, 'qemu.cmd'), `qemu-system-x86_64 ${args.map((a) => (/[\s,]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
    const console_ = fs.openSync(path.join(runDir, 'console.log'), 'w');
    const start = Date.now();
    const marks = {};
    let timedOut = false;
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      say(`${sc.name}: TIMEOUT after ${timeoutS} s, killing QEMU`);
      killGroup();
    }, timeoutS * 1000);
    let buf = '';
    const onData = (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        const t = secs(start);
        fs.writeSync(console_, `${t.padStart(7)} ${line}\n`);
        const m = /^@@ (INIT|BOOT|SCENARIO-START|SCENARIO-END|POWEROFF)\b/.exec(line);
        if (m && !(m[1] in marks)) marks[m[1]] = Date.now();
        if (VERBOSE || line.startsWith('@@')) console.log(`  [${sc.name} ${t.padStart(6)}s] ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => onData(`@@ FATAL: cannot start qemu-system-x86_64: ${err.message}\n`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      if (buf) onData('\n');
      fs.closeSync(console_);
      let status;
      try {
        status = fs.readFileSync(path.join(runDir, 'exit-status'), 'utf8').trim();
      } catch {
        status = undefined;
      }
      const end = Date.now();
      const res = {
        name: sc.name,
        result: !timedOut && status === '0' ? 'PASS' : 'FAIL',
        seconds: Number(secs(start, end)),
        bootSeconds: marks['SCENARIO-START'] ? Number(secs(start, marks['SCENARIO-START'])) : null,
        scenarioSeconds: marks['SCENARIO-START'] && marks['SCENARIO-END'] ? Number(secs(marks['SCENARIO-START'], marks['SCENARIO-END'])) : null,
        exitStatus: status ?? null,
        qemu: signal ? `signal ${signal}` : `exit ${code}`,
        note: timedOut
          ? `timed out after ${timeoutS} s, QEMU killed`
          : status === undefined
            ? 'no exit status from the VM (see console.log)'
            : status === '124' || status === '137'
              ? `scenario timed out in the VM after ${guestTimeout} s`
              : status === '0'
                ? ''
                : `scenario exit ${status}`,
        logs: runDir,
        ...(Object.keys(params).length ? { params } : {}),
      };
      fs.writeFileSync(path.join(runDir, 'result.json'), `${JSON.stringify(res, null, 2)}\n`);
      resolve(res);
    });
  });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) {
      try {
        process.kill(-current.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

function pruneRuns(runsDir) {
  let runs;
  try {
    runs = fs.readdirSync(runsDir).sort();
  } catch {
    return;
  }
  for (const r of runs.slice(0, Math.max(0, runs.length - KEEP_RUNS))) rmTree(path.join(runsDir, r));
}

function printTable(rows) {
  const head = ['scenario', 'seconds', 'boot s', 'scenario s', 'result', 'note'];
  const cells = rows.map((r) => [r.name, r.seconds?.toFixed(1) ?? '-', r.bootSeconds?.toFixed(1) ?? '-', r.scenarioSeconds?.toFixed(1) ?? '-', r.result, r.note || '']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) => c.map((x, i) => String(x).padEnd(w[i])).join('  ').trimEnd();
  console.log(`\n${line(head)}\n${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const c of cells) console.log(line(c));
}

// ---- main ------------------------------------------------------------------------------------------------------------------
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const all = loadScenarios();
  if (o.list) {
    for (const s of all) console.log(`${s.ci ? '*' : ' '} ${s.name.padEnd(16)} ${String(scenarioTimeout(s, scenarioParams(s, o.params))).padStart(4)} s  ${s.summary}`);
    console.log('\n* = CI subset (--ci)');
    return 0;
  }
  const unknown = o.names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) die(`unknown scenario(s): ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  const chosen = o.ci ? all.filter((s) => s.ci || o.names.includes(s.name)) : o.names.length ? all.filter((s) => o.names.includes(s.name)) : all;

  const tBuild = Date.now();
  ensureHostTools(o.rebuild || !imageReady(cacheKeys().imageDir));
  const image = ensureImage(o.rebuild);
  const buildSeconds = image.built ? Number(secs(tBuild)) : 0;
  if (o.buildOnly) return 0;
  say(image.built ? `image built in ${buildSeconds} s (host packages included)` : `image cached: ${image.dir}`);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const runsDir = path.join(CACHE, 'runs');
  const runRoot = path.join(runsDir, `${stamp}-${process.pid}`);
  fs.mkdirSync(runRoot, { recursive: true });
  const rows = [];
  let projectDisk;
  for (const sc of chosen) {
    const missing = missingRequirement(sc);
    if (missing) {
      say(`${sc.name}: PENDING, ${missing}`);
      rows.push({ name: sc.name, result: o.strict ? 'FAIL' : 'PENDING', seconds: null, bootSeconds: null, scenarioSeconds: null, note: missing });
      continue;
    }
    const params = scenarioParams(sc, o.params);
    const timeoutS = o.timeout ?? scenarioTimeout(sc, params);
    say(`${sc.name}: booting the VM (timeout ${timeoutS} s${Object.keys(params).length ? `; ${JSON.stringify(params)}` : ''})`);
    if (!HOST_9P && !projectDisk) projectDisk = buildProjectDisk(runRoot);
    let r = await runScenario(sc, image.dir, projectDisk, path.join(runRoot, sc.name), timeoutS, params);
    say(`${sc.name}: ${r.result} in ${r.seconds} s${r.note ? ` (${r.note})` : ''}; logs ${r.logs}`);
    if (r.result === 'FAIL' && o.retryFailed) {
      say(`${sc.name}: failed once; running it again to tell a real failure from emulation timing`);
      const again = await runScenario(sc, image.dir, projectDisk, path.join(runRoot, `${sc.name}.retry`), timeoutS, params);
      say(`${sc.name} (retry): ${again.result} in ${again.seconds} s${again.note ? ` (${again.note})` : ''}; logs ${again.logs}`);
      if (again.result === 'PASS') {
        say(retriedPassLine(r));
        r = { ...again, retried: true, firstRun: r, note: `passed on retry; first run: ${r.note || 'FAIL'}` };
      } else {
        r = { ...again, retried: true, firstRun: r, note: `failed twice; ${again.note}` };
      }
    }
    rows.push(r);
  }
  if (projectDisk && process.env.RDS_CSI_VM_KEEP !== '1') fs.rmSync(projectDisk, { force: true });
  const counts = tally(rows);
  const summary = { image: image.dir, imageBuilt: image.built, buildSeconds, totalSeconds: Number(secs(t0)), ...counts, scenarios: rows };
  fs.writeFileSync(path.join(runRoot, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  pruneRuns(runsDir);
  printTable(rows);
  console.log(
    `\n${countsLine(counts)}; image ${image.built ? `built in ${summary.buildSeconds} s` : 'from cache'}; total ${summary.totalSeconds} s; logs ${runRoot}`,
  );
  return counts.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => die(err.stack || String(err), 1),
);
