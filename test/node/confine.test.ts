import { status } from '@grpc/grpc-js';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Failure } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { confinePath, isWithin, type PathRole } from '../../src/node/confine';

/**
 * The confinement rule of request paths to kubelet's directory (src/node/confine.ts, issue 18 item 1), on a real
 * temp tree with real symlinks: component-wise containment, the parent's real path, the deepest existing ancestor
 * for a chain mkdir -p will create, a symlink as the last component refused, the kubelet dir taken by its real path.
 */

describe('isWithin compares by path components', () => {
  test.each([
    ['/var/lib/kubelet', '/var/lib/kubelet', true],
    ['/var/lib/kubelet', '/var/lib/kubelet/pods/x/volumes', true],
    ['/var/lib/kubelet', '/var/lib/kubelet2', false],
    ['/var/lib/kubelet', '/var/lib/kubelet2/pods', false],
    ['/var/lib/kubelet', '/var/lib/kubele', false],
    ['/var/lib/kubelet', '/var/lib', false],
    ['/var/lib/kubelet', '/', false],
    ['/var/lib/kubelet', '/tmp/var/lib/kubelet', false],
    ['/', '/anything/at/all', true],
    ['/data/kubelet', '/data/kubelet/..x', true], // a component named "..x" is a name, not a step up
  ])('%s contains %s: %s', (root, p, want) => {
    expect(isWithin(root, p)).toBe(want);
  });
});

describe('confinePath on a real tree', () => {
  let root: string;
  let kubelet: string;
  beforeAll(() => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'rds-csi-confine-')));
    kubelet = path.join(root, 'kubelet');
    for (const d of ['kubelet/pods/p1/volumes', 'kubelet/plugins/staging', 'kubelet2/pods', 'outside/dir', 'data/kubelet-real/pods'])
      mkdirSync(path.join(root, d), { recursive: true });
    symlinkSync(path.join(root, 'outside'), path.join(kubelet, 'pods/p1/out-link')); // parent symlink leaving the dir
    symlinkSync(path.join(kubelet, 'plugins'), path.join(kubelet, 'pods/p1/in-link')); // parent symlink staying inside
    symlinkSync(path.join(root, 'outside/dir'), path.join(kubelet, 'pods/p1/volumes/mount-link')); // last component
    symlinkSync(path.join(root, 'nowhere'), path.join(kubelet, 'pods/p1/dangling'));
    symlinkSync('loopy', path.join(kubelet, 'pods/p1/loopy'));
    writeFileSync(path.join(kubelet, 'pods/p1/a-file'), '');
    symlinkSync(path.join(root, 'data/kubelet-real'), path.join(root, 'kubelet-link')); // a kubelet dir that is a link
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const ok = (rel: string, want: string): [string, string, string, PathRole, string | number] => [rel, 'kubelet', rel, 'act', want];
  type Row = [string, string, string, PathRole, string | number];
  const rows: Row[] = [
    ok('kubelet/pods/p1/volumes/mount', 'kubelet/pods/p1/volumes/mount'),
    ok('kubelet/pods/p1/volumes', 'kubelet/pods/p1/volumes'),
    ok('kubelet/pods/p9/volumes/kubernetes.io~csi/pv/mount', 'kubelet/pods/p9/volumes/kubernetes.io~csi/pv/mount'), // mkdir -p chain
    ok('kubelet/pods/p1/in-link/x', 'kubelet/plugins/x'), // returned with the parent resolved
    ok('kubelet/pods/p1/a-file/x', 'kubelet/pods/p1/a-file/x'), // inside; the later syscall answers ENOTDIR
    ['parent links out (act)', 'kubelet', 'kubelet/pods/p1/out-link/mount', 'act', status.INVALID_ARGUMENT],
    ['parent links out (lookup)', 'kubelet', 'kubelet/pods/p1/out-link/mount', 'lookup', status.NOT_FOUND],
    ['missing chain under a link out', 'kubelet', 'kubelet/pods/p1/out-link/a/b/mount', 'act', status.INVALID_ARGUMENT],
    ['dangling link in the chain', 'kubelet', 'kubelet/pods/p1/dangling/a/mount', 'act', status.INVALID_ARGUMENT],
    ['last component is a symlink (act)', 'kubelet', 'kubelet/pods/p1/volumes/mount-link', 'act', status.FAILED_PRECONDITION],
    ['last component is a symlink (lookup)', 'kubelet', 'kubelet/pods/p1/volumes/mount-link', 'lookup', status.NOT_FOUND],
    ['sibling with the kubelet dir as string prefix', 'kubelet', 'kubelet2/pods/mount', 'act', status.INVALID_ARGUMENT],
    ['sibling, missing chain', 'kubelet', 'kubelet2/pods/a/b/mount', 'lookup', status.NOT_FOUND],
    ['unrelated dir', 'kubelet', 'outside/dir/mount', 'act', status.INVALID_ARGUMENT],
    ['the kubelet dir itself (its parent is outside)', 'kubelet', 'kubelet', 'act', status.INVALID_ARGUMENT],
    ['kubelet dir is a link: the real path is inside', 'kubelet-link', 'data/kubelet-real/pods/mount', 'act', 'data/kubelet-real/pods/mount'],
    ['kubelet dir is a link: the link path is inside', 'kubelet-link', 'kubelet-link/pods/mount', 'act', 'data/kubelet-real/pods/mount'],
    ['kubelet dir is a link: another dir stays outside', 'kubelet-link', 'kubelet/pods/mount', 'act', status.INVALID_ARGUMENT],
    ['kubelet dir does not exist', 'no-such-kubelet', 'kubelet/pods/mount', 'act', status.FAILED_PRECONDITION],
  ];

  test.each(rows)('%s', async (_name, kubeletRel, rel, role, want) => {
    const run = confinePath(path.join(root, kubeletRel), 'target_path', path.join(root, rel), role);
    if (typeof want === 'string') {
      await expect(run).resolves.toBe(path.join(root, want));
      return;
    }
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Failure);
    expect(statusOf(err)).toBe(want);
  });

  test('a symlink loop in the chain keeps its errno, which the service edge answers INVALID_ARGUMENT (errno.ts)', async () => {
    await expect(confinePath(kubelet, 'volume_path', path.join(kubelet, 'pods/p1/loopy/x'), 'lookup')).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
