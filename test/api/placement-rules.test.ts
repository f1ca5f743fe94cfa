import { accessibleCandidates, candidatesOf, choose, placementParams, type Candidate, type Requirements } from '../../src/domain/placement';
import { Failure } from '../../src/domain/failure';
import { backendTopology } from '../../src/domain/topology';

/**
 * The placement rules of issue 16 (src/domain/placement.ts) on their own, for the cases the two-simulator test
 * (test/api/backends.test.ts) cannot set up cheaply: a pool reading that failed, three backends, a zone nobody has.
 */
const DRIVER = 'rds.csi.mikrotik.com';
const cand = (name: string, primary: boolean, zone?: string): Candidate => ({ name, topology: backendTopology(DRIVER, name, primary), zone });
const A = cand('a', true, 'z1');
const B = cand('b', false, 'z2');
const C = cand('c', false, 'z2');
const ALL = [A, B, C];
const seg = (c: Candidate): Record<string, string> => ({ [c.topology.key]: c.topology.value });
const GiB = 1024 ** 3;

describe('placement rules', () => {
  it('gives the primary its old segment and every other backend a key of its own', () => {
    expect(seg(A)).toEqual({ [`${DRIVER}/backend`]: 'a' });
    expect(seg(B)).toEqual({ [`${DRIVER}/backend.b`]: 'true' });
  });

  const cases: Array<{
    what: string;
    free: Record<string, number | undefined>;
    req?: Partial<Requirements>;
    mode?: 'mostFree' | 'zone';
    size?: number;
    want: Candidate;
  }> = [
    { what: 'most free wins', free: { a: 1 * GiB, b: 3 * GiB, c: 2 * GiB }, want: B },
    { what: 'a failed reading counts as unknown, below any known space', free: { a: 1 * GiB, b: undefined, c: undefined }, want: A },
    { what: 'nobody is known to fit: still the most free (the worker answers RESOURCE_EXHAUSTED)', free: { a: 1, b: 3, c: 2 }, size: GiB, want: B },
    {
      what: 'the first preferred segment first, when it fits',
      free: { a: 1 * GiB, b: 3 * GiB, c: 2 * GiB },
      req: { preferred: [seg(C), seg(B)] },
      want: C,
    },
    {
      what: 'a preferred segment reaching two backends: the more free of those',
      free: { a: 5 * GiB, b: 3 * GiB, c: 2 * GiB },
      req: { preferred: [{ ...seg(B), ...seg(C) }] },
      want: B,
    },
    {
      what: 'zone: the zone of the first preferred segment naming one',
      free: { a: 1 * GiB, b: 2 * GiB, c: 3 * GiB },
      req: { preferred: [seg(A), { 'topology.kubernetes.io/zone': 'z1' }] },
      mode: 'zone',
      want: A,
    },
    {
      what: 'zone: a zone no candidate is in is a preference only',
      free: { a: 1 * GiB, b: 2 * GiB, c: 3 * GiB },
      req: { preferred: [{ 'topology.kubernetes.io/zone': 'z9' }] },
      mode: 'zone',
      want: C,
    },
  ];
  it.each(cases)('$what', ({ free, req, mode, size, want }) => {
    const r: Requirements = { requisite: [], preferred: [], ...req };
    expect(choose(ALL, r, mode ?? 'mostFree', (c) => free[c.name], size ?? 1).name).toBe(want.name);
  });

  it.each([
    { requisite: [{}], want: ['a', 'b', 'c'] }, // an empty segment is the whole cluster
    { requisite: [seg(B), { ...seg(A), 'topology.kubernetes.io/zone': 'z1' }], want: ['a', 'b'] },
    { requisite: [], want: ['a', 'b', 'c'] },
  ])('keeps the candidates a requisite segment reaches: $want', ({ requisite, want }) => {
    expect(accessibleCandidates(ALL, { requisite, preferred: [] }).map((c) => c.name)).toEqual(want);
  });

  it('refuses a requisite that reaches none with RESOURCE_EXHAUSTED', () => {
    let thrown: unknown;
    try {
      accessibleCandidates([B], { requisite: [seg(A)], preferred: [] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Failure);
    expect((thrown as Failure).kind).toBe('exhausted');
  });

  it.each([
    [{}, ['a']],
    [{ backend: 'c' }, ['c']],
    [{ backends: 'c, b,c' }, ['c', 'b']],
  ])('the candidates of %j', (params, want) => {
    expect(candidatesOf(placementParams(params), ALL).map((c) => c.name)).toEqual(want);
  });

  it('names the configured backends when a class names another', () => {
    expect(() => candidatesOf(placementParams({ backends: 'a,x' }), ALL)).toThrow(/backend x, .*configured: a, b, c/);
  });
});
