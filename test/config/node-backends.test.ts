import { ConfigError } from '../../src/config/error';
import { loadNodeConfig } from '../../src/config/node-config';
import { nodeBackendsOf } from '../../src/config/node-backends';

/**
 * node.backends (issue 16): `name=host:port,...`, the NVMe/TCP address of each RDS backend a node may use. Every bad
 * entry is a ConfigError naming the key, its flag and its env variable, from the flag and from the env alike.
 */

const KEY = 'node.backends (--backends, RDS_CSI_NODE_BACKENDS)';
const long = (n: number): string => 'b'.repeat(n);

describe('node.backends', () => {
  it.each([
    ['empty', '', []],
    ['commas and spaces only', ' , ,', []],
    [
      'primary and extras, spaces around entries',
      ' default=10.0.0.1:4420 , rack-b=rds-b.example.com:4421,rack.c=[fd00::1]:4420',
      [
        { name: 'default', host: '10.0.0.1', port: 4420, primary: true },
        { name: 'rack-b', host: 'rds-b.example.com', port: 4421, primary: false },
        { name: 'rack.c', host: 'fd00::1', port: 4420, primary: false },
      ],
    ],
    ['an extra name of 55 characters', `${long(55)}=h:1`, [{ name: long(55), host: 'h', port: 1, primary: false }]],
  ])('%s', (_n, raw, want) => {
    expect(nodeBackendsOf(raw, 'default')).toEqual(want);
  });

  it('the primary may have a name up to 63 characters (rds.backend allows it)', () => {
    expect(nodeBackendsOf(`${long(63)}=h:4420`, long(63))).toEqual([{ name: long(63), host: 'h', port: 4420, primary: true }]);
  });

  it.each([
    ['no "="', 'rds-b', 'entry "rds-b" is not name=host:port'],
    ['no name', '=10.0.0.1:4420', 'backend name "" is not a Kubernetes label value'],
    ['a name that is not a label value', 'rack_b-=10.0.0.1:4420', 'backend name "rack_b-" is not a Kubernetes label value'],
    ['a name with a "/"', 'a/b=10.0.0.1:4420', 'backend name "a/b" is not a Kubernetes label value'],
    [
      'an extra name over 55 characters',
      `${long(56)}=10.0.0.1:4420`,
      `backend name "${long(56)}" has 56 characters; an extra backend's name has at most 55`,
    ],
    ['a name over 63 characters', `${long(64)}=10.0.0.1:4420`, `backend name "${long(64)}" is not a Kubernetes label value`],
    ['a duplicate name', 'b=10.0.0.1:4420,b=10.0.0.2:4420', 'backend b is listed twice'],
    ['no port', 'b=10.0.0.1', 'backend b: address "10.0.0.1" is not host:port'],
    ['no host', 'b=:4420', 'backend b: address ":4420" is not host:port'],
    ['port 0', 'b=h:0', 'backend b: port "0" is not 1-65535'],
    ['port 65536', 'b=h:65536', 'backend b: port "65536" is not 1-65535'],
    ['a port that is not a number', 'b=h:nvme', 'backend b: port "nvme" is not 1-65535'],
    ['a host with a space', 'b=a b:4420', 'backend b: "a b" is not a host name or IP address'],
    [
      'an IPv6 address without brackets',
      'b=fd00::1:4420',
      'backend b: "fd00::1" is not a host name or IP address (write an IPv6 address as [addr]:port)',
    ],
    ['two problems at once', 'x,b=h:0', 'entry "x" is not name=host:port; backend b: port "0" is not 1-65535'],
  ])('%s: a config error naming the key', (_n, raw, problem) => {
    const want = `invalid configuration: ${KEY}: ${problem}`;
    for (const load of [() => loadNodeConfig({ 'node.backends': raw }, {}), () => loadNodeConfig({}, { RDS_CSI_NODE_BACKENDS: raw })]) {
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(want);
    }
  });

  it('an extra backend is any name other than rds.backend: with rds.backend set, its long name is the primary', () => {
    expect(loadNodeConfig({ 'rds.backend': long(60), 'node.backends': `${long(60)}=h:4420` }, {}).node.backends).toBe(`${long(60)}=h:4420`);
    expect(() => loadNodeConfig({ 'node.backends': `${long(60)}=h:4420` }, {})).toThrow(/has 60 characters/);
  });

  it.each([
    ['default', {}, 1500],
    ['0: no check', { RDS_CSI_NODE_BACKEND_REACH_MS: '0' }, 0],
    ['from the env', { RDS_CSI_NODE_BACKEND_REACH_MS: '250' }, 250],
  ])('node.backendReachMs %s', (_n, env, want) => {
    expect(loadNodeConfig({}, env).node.backendReachMs).toBe(want);
  });

  it.each([['-1'], ['60001'], ['1.5'], ['x']])('node.backendReachMs %s is a config error naming the key', (v) => {
    expect(() => loadNodeConfig({}, { RDS_CSI_NODE_BACKEND_REACH_MS: v })).toThrow(
      /node\.backendReachMs \(--backend-reach-ms, RDS_CSI_NODE_BACKEND_REACH_MS\)/,
    );
  });
});
