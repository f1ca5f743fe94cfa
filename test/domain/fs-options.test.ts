import { checkMountFlagList, parseMkfsOptions, type MkfsFs } from '../../src/domain/fs-options';

/** The allow-lists of src/domain/fs-options.ts on their own (the gRPC and kernel tests are in test/api and test/node). */

const OK: Array<[MkfsFs, string, string[]]> = [
  ['ext4', '', []],
  ['ext4', '   ', []],
  ['ext4', '-m 0', ['-m', '0']],
  ['ext4', '-m 0.5\t-i 16384  -I 256', ['-m', '0.5', '-i', '16384', '-I', '256']],
  ['ext4', '-b 4096 -N 100000 -T largefile4', ['-b', '4096', '-N', '100000', '-T', 'largefile4']],
  [
    'ext4',
    '-E lazy_itable_init=0,lazy_journal_init=1,stride=16,stripe_width=64,nodiscard',
    ['-E', 'lazy_itable_init=0,lazy_journal_init=1,stride=16,stripe_width=64,nodiscard'],
  ],
  ['ext4', '-O metadata_csum,quota -J size=64', ['-O', 'metadata_csum,quota', '-J', 'size=64']],
  ['xfs', '-K -b size=4096 -i size=512,maxpct=25,sparse=1', ['-K', '-b', 'size=4096', '-i', 'size=512,maxpct=25,sparse=1']],
  [
    'xfs',
    '-m crc=1,reflink=1,bigtime=1 -n size=8192 -l size=64m,lazy-count=1 -d agcount=8,su=64k,sw=4',
    ['-m', 'crc=1,reflink=1,bigtime=1', '-n', 'size=8192', '-l', 'size=64m,lazy-count=1', '-d', 'agcount=8,su=64k,sw=4'],
  ],
];

const BAD: Array<[MkfsFs, string, RegExp]> = [
  ['ext4', '-F', /option "-F" is not allowed for ext4/],
  ['ext4', '-q', /option "-q" is not allowed/], // the driver adds it itself
  ['ext4', '-n', /option "-n" is not allowed/], // "do not create": would leave a blank device looking formatted
  ['ext4', '-S', /option "-S" is not allowed/], // superblock only: destroys data
  ['ext4', '-U 1234', /option "-U" is not allowed/],
  ['ext4', '-e panic', /option "-e" is not allowed/],
  ['ext4', '-m 0 -- /dev/sda', /option "--" is not allowed/],
  ['ext4', '0', /option "0" is not allowed.*names the device itself/],
  ['ext4', '-m 51', /-m 51 is not an allowed value/],
  ['ext4', '-m -1', /option -m needs a value/],
  ['ext4', '-I 300', /-I 300 is not an allowed value/],
  ['ext4', '-i 512', /-i 512 is not an allowed value/],
  ['ext4', '-b 8192', /-b 8192 is not an allowed value/],
  ['ext4', '-E lazy_itable_init', /-E lazy_itable_init= is not an allowed value/],
  ['ext4', '-E discard=1', /-E discard takes no value/],
  ['ext4', '-E stride=16,,', /-E has an empty item and is not allowed/],
  ['ext4', '-E __proto__=1', /-E key "__proto__" is not allowed/],
  ['ext4', '-J device=/dev/sdb', /-J key "device" is not allowed/],
  ['ext4', '-O ^metadata_csum', /feature "\^metadata_csum" is not allowed/],
  ['ext4', '-O metadata_csum,^resize_inode', /feature "\^resize_inode" is not allowed/],
  ['ext4', '__proto__ 1', /option "__proto__" is not allowed/],
  ['ext4', 'constructor', /option "constructor" is not allowed/],
  ['ext4', '-m\n0', /characters that are not allowed/],
  ['ext4', '-m\u00a00', /characters that are not allowed/],
  ['ext4', `-m ${'0'.repeat(600)}`, /longer than 512/],
  ['xfs', '-f', /option "-f" is not allowed for xfs/],
  ['xfs', '-N', /option "-N" is not allowed for xfs/], // dry run
  ['xfs', '-p /etc/protofile', /option "-p" is not allowed/],
  ['xfs', '-r rtdev=/dev/sdb', /option "-r" is not allowed/],
  ['xfs', '-L data', /option "-L" is not allowed/],
  ['xfs', '-K 1', /option "1" is not allowed/],
  ['xfs', '-b size=3000', /-b size=3000 is not an allowed value/],
  ['xfs', '-i size=4096', /-i size=4096 is not an allowed value/],
  ['xfs', '-m uuid=00000000-0000-0000-0000-000000000000', /-m key "uuid" is not allowed/],
  ['xfs', '-d name=/etc/passwd', /-d key "name" is not allowed/],
  ['xfs', '-l logdev=/dev/sdb,size=10m', /-l key "logdev" is not allowed/],
  ['xfs', '-l size=10t', /-l size=10t is not an allowed value/],
];

describe('mkfsOptions allow-list', () => {
  test.each(OK)('%s "%s" is allowed as argv', (fs, raw, args) => {
    expect(parseMkfsOptions(fs, raw)).toEqual({ args });
  });
  test.each(BAD)('%s "%s" is refused, naming the option', (fs, raw, problem) => {
    const r = parseMkfsOptions(fs, raw);
    expect('problem' in r && r.problem).toMatch(problem);
  });
  test('an absent parameter is no options', () => {
    expect(parseMkfsOptions('xfs', undefined)).toEqual({ args: [] });
  });
});

describe('mount flag allow-list', () => {
  const OK_FLAGS: Array<[string[], string[]]> = [
    [[], []],
    [
      ['noatime', 'nodiratime,discard', 'rw'],
      ['noatime', 'nodiratime', 'discard'],
    ],
    [
      ['ro', 'nosuid', 'nodev', 'noexec', 'lazytime'],
      ['ro', 'nosuid', 'nodev', 'noexec', 'lazytime'],
    ],
    [
      ['commit=30', 'errors=remount-ro', 'data=ordered', 'stripe=16'],
      ['commit=30', 'errors=remount-ro', 'data=ordered', 'stripe=16'],
    ],
    [
      ['inode64', 'logbufs=8', 'logbsize=256k', 'allocsize=64m', 'prjquota', 'nouuid'],
      ['inode64', 'logbufs=8', 'logbsize=256k', 'allocsize=64m', 'prjquota', 'nouuid'],
    ],
    [[' noatime , relatime '], ['noatime', 'relatime']],
  ];
  test.each(OK_FLAGS)('%j is allowed', (flags, out) => {
    expect(checkMountFlagList(flags)).toEqual({ flags: out });
  });
  const BAD_FLAGS: Array<[string[], RegExp]> = [
    [['bind'], /mount flag bind is not allowed/],
    [['rbind'], /mount flag rbind is not allowed/],
    [['remount'], /mount flag remount is not allowed/],
    [['noatime,remount'], /mount flag remount is not allowed/],
    [['shared'], /mount flag shared is not allowed/],
    [['defaults'], /mount flag defaults is not allowed/],
    [['nobarrier'], /mount flag nobarrier is not allowed/],
    [['barrier=0'], /mount flag barrier=0 is not allowed/],
    [['errors=panic'], /mount flag errors=panic is not allowed/],
    [['norecovery'], /mount flag norecovery is not allowed/],
    [['exec'], /mount flag exec is not allowed/],
    [['suid'], /mount flag suid is not allowed/],
    [['uid=0'], /mount flag uid=0 is not allowed/],
    [['commit=abc'], /mount flag commit=abc is not allowed/],
    [['logbufs=9'], /mount flag logbufs=9 is not allowed/],
    [['constructor=1'], /mount flag constructor=1 is not allowed/],
    [['__proto__=1'], /mount flag __proto__=1 is not allowed/],
    [['sb=1'], /mount flag sb=1 is not allowed/],
    [['logdev=/dev/sdb'], /characters that are not allowed/],
    [['noatime exec'], /characters that are not allowed/],
    [['noatime;reboot'], /characters that are not allowed/],
    [['context="system_u:object_r:tmp_t:s0"'], /characters that are not allowed/],
  ];
  test.each(BAD_FLAGS)('%j is refused', (flags, error) => {
    expect(checkMountFlagList(flags).error).toMatch(error);
  });
});
