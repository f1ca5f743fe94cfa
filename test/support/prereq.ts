/**
 * Tests that need something of the machine (root, a tool) skip visibly without it on a developer's machine. Under CI
 * (CI=true, as CI runs .ci/run) a missing prerequisite fails instead, so a green CI never hides tests that did not
 * run (issue 19 item 3): .ci/run installs what they need and runs as root.
 */
export const IN_CI = process.env.CI === 'true';

function failMissing(reason: string): void {
  it(`has its prerequisite: ${reason}`, () => {
    throw new Error(`missing prerequisite under CI=true: ${reason} (outside CI these tests are skipped)`);
  });
}

/** `describe` when `have`; otherwise skipped with the reason in its name, or in CI a suite of one failing test. */
export function describeIf(have: boolean, reason: string): (name: string, fn: () => void) => void {
  if (have) return describe;
  return (name, fn) => {
    if (IN_CI) describe(name, () => failMissing(reason));
    else describe.skip(`${name} [SKIPPED: needs ${reason}]`, fn);
  };
}

/** `it` when `have`; otherwise `it.skip`, and in CI one failing test in its place naming what is missing. */
export function itIf(have: boolean, reason: string): jest.It {
  if (have) return it;
  if (IN_CI) failMissing(reason);
  return it.skip;
}

export const IS_ROOT = process.getuid?.() === 0;
export const ROOT_REASON = 'root (loop devices, mkfs, mount, mknod)';
