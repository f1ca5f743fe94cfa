/**
 * Allow-lists for what a StorageClass or PV may say about a volume's file system (issue 15 item 7), shared by the
 * controller (CreateVolume, INVALID_ARGUMENT before anything is made) and the node (again at NodeStage/NodePublish,
 * defence in depth: a PV can be written by hand). Pure functions: each answers the reason for the first bad item, or
 * the checked result. Nothing here ever reaches a shell: mkfs options become argv entries, mount flags one `-o`
 * argument whose items are each checked here.
 *
 * mkfsOptions (StorageClass parameter, carried to the node in volume_context): whitespace-separated tokens, an
 * option letter followed by its value where it takes one (`-m 0 -E lazy_itable_init=0`). Only the options below,
 * with values of the shapes below, are accepted; everything else is refused — in particular anything that forces
 * (`-F`, `-f`), changes the type or target (`-t`, `-T` for xfs, positional arguments), reads or writes host files
 * (`-d`/`-p` populate, `-z` undo file, `-l logdev=`, `-d file=`), or names the file system so that the host could
 * mistake it for one of its own (`-L` label, `-U`/`-m uuid=`: /dev/disk/by-label and by-uuid, fstab LABEL=/UUID=).
 * Sources: mke2fs(8) and ext4(5) for ext4, mkfs.xfs(8) for xfs.
 */

export type MkfsFs = 'ext4' | 'xfs';

type ValueCheck = (v: string) => boolean;

const int =
  (min: number, max: number): ValueCheck =>
  (v) =>
    /^\d{1,10}$/.test(v) && +v >= min && +v <= max;
const oneOf =
  (...vals: string[]): ValueCheck =>
  (v) =>
    vals.includes(v);
const bool01 = oneOf('0', '1');
const pow2 =
  (min: number, max: number): ValueCheck =>
  (v) =>
    int(min, max)(v) && (+v & (+v - 1)) === 0;
/** A size with an optional unit suffix as mkfs.xfs takes it (bytes, k, m, g). */
const xfsSize: ValueCheck = (v) => /^\d{1,12}[kmg]?$/.test(v);

/** One option: `value` checks a plain value; `keys` checks a comma list of key[=value] items (`-E`, `-i`, `-m`…). */
interface OptionRule {
  value?: ValueCheck;
  keys?: Record<string, ValueCheck | null>;
  /** `-O`: a comma list of feature names from this set (enable only: none may be switched off with `^`). */
  features?: ReadonlySet<string>;
  /** Takes no value (a flag). */
  flag?: true;
}

const EXT4_FEATURES = new Set([
  'dir_index',
  'dir_nlink',
  'extent',
  'extra_isize',
  'fast_commit',
  'flex_bg',
  'huge_file',
  'large_file',
  'metadata_csum',
  'metadata_csum_seed',
  'project',
  'quota',
  'sparse_super2',
]);

export const MKFS_RULES: Record<MkfsFs, Record<string, OptionRule>> = {
  ext4: {
    '-m': { value: (v) => /^\d{1,2}(\.\d{1,2})?$/.test(v) && +v <= 50 }, // reserved-blocks percentage
    '-i': { value: int(1024, 67108864) }, // bytes per inode
    '-I': { value: oneOf('128', '256', '512', '1024') }, // inode size
    '-N': { value: int(1, 4294967295) }, // number of inodes
    '-b': { value: oneOf('1024', '2048', '4096') }, // block size
    '-T': { value: oneOf('default', 'small', 'floppy', 'big', 'huge', 'news', 'largefile', 'largefile4') }, // usage type
    '-J': { keys: { size: int(1, 10240) } }, // journal size in MiB (never device=: an external journal)
    '-E': {
      keys: {
        lazy_itable_init: bool01,
        lazy_journal_init: bool01,
        stride: int(1, 1 << 24),
        stripe_width: int(1, 1 << 24),
        discard: null,
        nodiscard: null,
      },
    },
    '-O': { features: EXT4_FEATURES },
  },
  xfs: {
    '-b': { keys: { size: pow2(512, 65536) } },
    '-i': { keys: { size: pow2(256, 2048), maxpct: int(0, 100), align: bool01, sparse: bool01 } },
    '-m': { keys: { crc: bool01, finobt: bool01, reflink: bool01, rmapbt: bool01, bigtime: bool01, inobtcount: bool01 } },
    '-n': { keys: { size: pow2(512, 65536) } },
    '-l': { keys: { size: xfsSize, 'lazy-count': bool01 } }, // internal log only (never logdev=)
    '-d': { keys: { agcount: int(1, 1 << 20), su: xfsSize, sw: int(1, 1 << 16) } }, // never file=/name=
    '-K': { flag: true }, // do not discard blocks at mkfs time
  },
};

/** At most this many bytes of mkfsOptions: a StorageClass line, not a script. */
export const MKFS_OPTIONS_MAX = 512;

/** The reason `list` (a comma list after an option) is refused, or undefined. */
function listProblem(opt: string, list: string, rule: OptionRule): string | undefined {
  const items = list.split(',');
  for (const item of items) {
    if (rule.features) {
      if (!rule.features.has(item)) return `${opt} feature "${item}" is not allowed (allowed: ${[...rule.features].join(', ')})`;
      continue;
    }
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    const keys = rule.keys ?? {};
    if (!Object.prototype.hasOwnProperty.call(keys, key))
      return `${opt} ${key ? `key "${key}"` : 'has an empty item and'} is not allowed (allowed: ${Object.keys(keys).join(', ')})`;
    const check = keys[key];
    if (check === null) {
      if (value !== undefined) return `${opt} ${key} takes no value`;
    } else if (value === undefined || !check?.(value)) return `${opt} ${key}=${value ?? ''} is not an allowed value`;
  }
  return undefined;
}

/**
 * mkfsOptions as argv entries for mkfs.<fs>, or the reason they are refused (naming the bad option). An empty or
 * absent string is no options.
 */
export function parseMkfsOptions(fs: MkfsFs, raw: string | undefined): { args: string[] } | { problem: string } {
  if (raw === undefined || raw.trim() === '') return { args: [] };
  if (raw.length > MKFS_OPTIONS_MAX) return { problem: `is longer than ${MKFS_OPTIONS_MAX} characters` };
  const tokens = raw.trim().split(/[ \t]+/);
  const rules = MKFS_RULES[fs];
  const args: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const opt = tokens[i] ?? '';
    if (!/^[\x21-\x7e]+$/.test(opt)) return { problem: `has characters that are not allowed near ${JSON.stringify(opt.slice(0, 40))}` };
    const rule = Object.prototype.hasOwnProperty.call(rules, opt) ? rules[opt] : undefined;
    if (!rule) {
      const hint = opt.startsWith('-') ? '' : ' (a value without its option, or a device: the driver names the device itself)';
      return { problem: `option "${opt.slice(0, 40)}" is not allowed for ${fs}${hint}; allowed: ${Object.keys(rules).join(' ')}` };
    }
    if (rule.flag) {
      args.push(opt);
      continue;
    }
    const value = tokens[++i];
    if (value === undefined || value.startsWith('-')) return { problem: `option ${opt} needs a value` };
    if (!/^[\x21-\x7e]+$/.test(value)) return { problem: `option ${opt} has a value with characters that are not allowed` };
    const problem = rule.value ? (rule.value(value) ? undefined : `${opt} ${value} is not an allowed value`) : listProblem(opt, value, rule);
    if (problem) return { problem };
    args.push(opt, value);
  }
  return { args };
}

/**
 * Mount flags (PV mountOptions / StorageClass mountOptions → VolumeCapability.mount.mount_flags) this driver passes to
 * mount(8): options of how the file system behaves (mount(8) FILESYSTEM-INDEPENDENT MOUNT OPTIONS, ext4(5), xfs(5)).
 * Not allowed, because they change what the driver does rather than how the file system behaves, or are unsafe for
 * the data or the node: bind/rbind/move/remount/loop and the propagation flags, `defaults`, `nobarrier` (loses data on
 * power loss; removed from xfs), `errors=panic` (a file-system error would panic the node), `norecovery` (mounts
 * without replaying the journal), `sb=`/`journal_path=`/`journal_dev=`/`logdev=`/`rtdev=` (other devices), user
 * mapping (`uid=`, `gid=`), `exec`, `suid`, `dev` (weaken the defaults kubelet relies on) and anything unknown.
 */
const MOUNT_FLAGS = new Set([
  'ro',
  'rw',
  'noatime',
  'nodiratime',
  'relatime',
  'strictatime',
  'lazytime',
  'nolazytime',
  'nosuid',
  'nodev',
  'noexec',
  'sync',
  'async',
  'dirsync',
  'discard',
  'nodiscard',
  'nouuid',
  // ext4(5)
  'errors=remount-ro',
  'errors=continue',
  'data=ordered',
  'data=journal',
  'data=writeback',
  'journal_checksum',
  'nojournal_checksum',
  'auto_da_alloc',
  'noauto_da_alloc',
  'dioread_lock',
  'dioread_nolock',
  'delalloc',
  'nodelalloc',
  'block_validity',
  'noblock_validity',
  'user_xattr',
  'acl',
  'noacl',
  // quota (ext4 and xfs)
  'usrquota',
  'grpquota',
  'prjquota',
  'quota',
  'noquota',
  'uquota',
  'gquota',
  'pquota',
  // xfs(5)
  'inode64',
  'inode32',
  'largeio',
  'nolargeio',
  'attr2',
  'noattr2',
  'filestreams',
  'wsync',
]);
/** key=value flags with a numeric or size value. */
const MOUNT_KEYS: Record<string, ValueCheck> = {
  commit: int(0, 3600), // ext4: seconds between journal commits
  stripe: int(0, 1 << 24), // ext4
  inode_readahead_blks: pow2(1, 1 << 30), // ext4
  max_batch_time: int(0, 1_000_000), // ext4
  min_batch_time: int(0, 1_000_000), // ext4
  logbufs: int(2, 8), // xfs
  logbsize: (v) => /^\d{1,3}k$/.test(v) || int(16384, 262144)(v), // xfs
  allocsize: xfsSize, // xfs
  sunit: int(0, 1 << 24), // xfs
  swidth: int(0, 1 << 24), // xfs
};

/** Flags from the capability, split on commas, checked against the allow-list; returns the reason for the first bad one. */
export function checkMountFlagList(flags: readonly string[]): { flags: string[]; error?: string } {
  const out: string[] = [];
  for (const raw of flags) {
    for (const f of raw.split(',')) {
      const flag = f.trim();
      if (!flag) continue;
      if (!/^[A-Za-z0-9_.=+-]+$/.test(flag))
        return { flags: out, error: `mount flag ${JSON.stringify(flag.slice(0, 60))} has characters that are not allowed` };
      const eq = flag.indexOf('=');
      const key = eq > 0 ? flag.slice(0, eq) : '';
      const keyCheck = Object.prototype.hasOwnProperty.call(MOUNT_KEYS, key) ? MOUNT_KEYS[key] : undefined;
      const known = MOUNT_FLAGS.has(flag) || keyCheck?.(flag.slice(eq + 1)) === true;
      if (!known) return { flags: out, error: `mount flag ${flag} is not allowed (see README "Filesystems and options" for the allowed flags)` };
      if (flag !== 'rw') out.push(flag);
    }
  }
  return { flags: out };
}
