import fc from 'fast-check';
import { ConfigError, leafPaths, loadConfig, parseNodeOptions } from '../../src/config/load';
import {
  checkNodeOptions,
  loadNodeConfig,
  NODE_CONFIG_KEYS,
  nodeConfigIssues,
  nodeOptionsIssues,
  type NodeRunConfig,
} from '../../src/config/node-config';
import { envName } from '../../src/config/options';
import { configSchema, nodeOptionsSchema, nodeSchema, type Config } from '../../src/config/schema';
import type { ConfigIssue } from '../../src/config/sources';

/**
 * Issue 14 item 4: `rds-csi node` validates its config without zod (src/config/node-config.ts). The zod schema is the
 * oracle: on generated valid and invalid inputs both must accept and reject alike, give the same object and name the
 * same keys with the same messages, so the two cannot drift. A change to schema.ts that the node's validators do not
 * follow (a default, a bound, a pattern, a new node key) fails here.
 */

const RUNS = { numRuns: 1500 };

/** What the node reads of a Config. */
const project = (c: Config): NodeRunConfig => ({
  driverName: c.driverName,
  nqnPrefix: c.nqnPrefix,
  logLevel: c.logLevel,
  rds: { basePath: c.rds.basePath, backend: c.rds.backend },
  node: c.node,
});

const issuesOf = (issues: readonly ConfigIssue[]): string[][] => issues.map((i) => [i.path.map(String).join('.'), i.message]);

/** Values of every JS type a YAML file, the env or a flag can give, and some it cannot. */
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(NaN, Infinity, -Infinity, 1.5, -0.5, 1e300, -1e300, 2 ** 53, -(2 ** 53)),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.constant([]),
  fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 2 }),
  fc.constant({}),
  fc.constant(new Date(0)),
);

/** Integers near every bound the schema uses, as numbers and as the strings env and flags give. */
const BOUNDS = [-2, -1, 0, 1, 2, 3599, 3600, 3601, 99999, 100000, 100001, 2000, 30000];
const intLike = fc.oneof(
  fc.constantFrom(...BOUNDS),
  fc.integer(),
  fc.constantFrom(...BOUNDS).map(String),
  fc.integer({ min: -5, max: 5000 }).map((n) => ` ${n} `),
  fc.constantFrom('', ' ', 'x', '1e3', '0x10', '1.5', 'Infinity', '-1', 'true'),
  junk,
);

const charsOf = (chars: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...chars), { minLength: min, maxLength: max }).map((a) => a.join(''));
const NAME = 'abcXYZ019._-';
const stringLike = fc.oneof(
  charsOf(NAME, 0, 8),
  charsOf(NAME + ' /:@', 0, 8),
  charsOf(NAME, 0, 8).map((s) => `/${s}`),
  fc.constantFrom(127, 128, 129, 62, 63, 64).map((n) => 'a'.repeat(n)),
  fc.constantFrom('a'.repeat(63) + '-', 'nqn.2026-11.x', 'nqn.2026-11.', 'nqn.26-11.x', 'nqn.2026-11.a b', 'rds.csi.mikrotik.com', 'A.b', '-a'),
  junk,
);
const enumLike = <T extends string>(...values: T[]): fc.Arbitrary<unknown> => fc.oneof(fc.constantFrom(...values), stringLike);

const maybeObject = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 8, arbitrary: fc.record({ ...fields, zzUnknown: junk }, { requiredKeys: [] }) }, { weight: 1, arbitrary: junk });

const nodeBlock = maybeObject({
  nodeId: stringLike,
  hostNqn: stringLike,
  maxVolumesPerNode: intLike,
  connector: enumLike('nvme-tcp', 'loop'),
  loopDataDir: stringLike,
  sysfsRoot: stringLike,
  devRoot: stringLike,
  mountInfoFile: stringLike,
  kubeletDir: stringLike,
  nvmeCommand: stringLike,
  toolTimeoutMs: intLike,
  formatTimeoutMs: intLike,
  deviceWaitMs: intLike,
  busyWaitMs: intLike,
  orphanIntervalMs: intLike,
  backends: stringLike,
  backendReachMs: fc.oneof(intLike, fc.constantFrom(59999, 60000, 60001, '60001')),
  connect: maybeObject({ ctrlLossTmo: intLike, reconnectDelay: intLike, keepAliveTmo: intLike, fastIoFailTmo: intLike }),
});

const rawConfig = fc.record(
  {
    driverName: stringLike,
    nqnPrefix: stringLike,
    logLevel: enumLike('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    rds: maybeObject({ basePath: stringLike, backend: stringLike }),
    node: nodeBlock,
  },
  { requiredKeys: [] },
);

describe('the node plugin config without zod agrees with the zod schema', () => {
  it('reads exactly the schema keys the node uses: all of node.*, and the shared ones', () => {
    const shared = ['driverName', 'nqnPrefix', 'rds.basePath', 'rds.backend', 'logLevel'];
    const expected = leafPaths(configSchema).filter((p) => p[0] === 'node' || shared.includes(p.join('.')));
    expect(NODE_CONFIG_KEYS).toEqual(expected);
    expect(leafPaths(nodeSchema).map((p) => ['node', ...p])).toEqual(expected.filter((p) => p[0] === 'node'));
  });

  it('with nothing given: the same defaults', () => {
    expect(loadNodeConfig({}, {})).toStrictEqual(project(loadConfig({}, {})));
  });

  it('any raw config (file + env + flags merged): same accept/reject, same object, same issues', () => {
    fc.assert(
      fc.property(rawConfig, (raw) => {
        const oracle = configSchema.safeParse(raw);
        const mine = nodeConfigIssues(raw);
        if (oracle.success) {
          expect(issuesOf(mine.issues)).toEqual([]);
          expect(mine.value).toStrictEqual(project(oracle.data));
        } else {
          expect(issuesOf(mine.issues)).toEqual(issuesOf(oracle.error.issues));
        }
      }),
      RUNS,
    );
  });

  it('any node block as the node runs it (node id required, loop needs its data dir): same as nodeOptionsSchema', () => {
    fc.assert(
      fc.property(nodeBlock, (input) => {
        const oracle = nodeOptionsSchema.safeParse(input);
        const mine = nodeOptionsIssues(input);
        if (oracle.success) {
          expect(issuesOf(mine.issues)).toEqual([]);
          expect(mine.value).toStrictEqual(oracle.data);
        } else {
          expect(issuesOf(mine.issues)).toEqual(issuesOf(oracle.error.issues));
        }
      }),
      RUNS,
    );
  });

  /** Env values are strings: the same coercions and the same ConfigError text (key, flag, env name) as loadConfig. */
  const envValue = fc
    .oneof(intLike, stringLike, enumLike('loop', 'nvme-tcp', 'warn', 'silent'))
    .filter((v): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v))
    .map((v) => String(v));
  const env = fc.record(Object.fromEntries(NODE_CONFIG_KEYS.map((k) => [envName(k.join('.')), envValue])), { requiredKeys: [] });

  const outcome = (f: () => unknown): { ok: unknown } | { error: string } => {
    try {
      return { ok: f() };
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return { error: (err as Error).message };
    }
  };

  it('from RDS_CSI_* env strings: loadNodeConfig + checkNodeOptions = loadConfig + parseNodeOptions, errors alike', () => {
    fc.assert(
      fc.property(env, (e) => {
        const vars: NodeJS.ProcessEnv = e;
        expect(outcome(() => loadNodeConfig({}, vars))).toEqual(outcome(() => project(loadConfig({}, vars))));
        expect(outcome(() => checkNodeOptions(loadNodeConfig({}, vars).node))).toEqual(outcome(() => parseNodeOptions(loadConfig({}, vars).node)));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    [{ RDS_CSI_NODE_NODE_ID: 'a b' }, 'node.nodeId (--node-id, RDS_CSI_NODE_NODE_ID): node id: letters, digits, ".", "_", "-"'],
    [{ RDS_CSI_NODE_CONNECT_CTRL_LOSS_TMO: 'soon' }, 'node.connect.ctrlLossTmo (--ctrl-loss-tmo, RDS_CSI_NODE_CONNECT_CTRL_LOSS_TMO): Invalid input'],
    [{ RDS_CSI_LOG_LEVEL: 'loud' }, 'logLevel (--log-level, RDS_CSI_LOG_LEVEL): Invalid option'],
    [{ RDS_CSI_RDS_BACKEND: '-x' }, 'rds.backend (--rds-backend, RDS_CSI_RDS_BACKEND): backend must be a Kubernetes label value'],
  ])('a bad value is a ConfigError naming key, flag and env variable: %j', (vars, message) => {
    expect(() => loadNodeConfig({}, vars)).toThrow(ConfigError);
    expect(() => loadNodeConfig({}, vars)).toThrow(message);
  });
});
