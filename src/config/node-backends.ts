import { ConfigError } from './error';
import { describeKey } from './options';

/**
 * `node.backends` (issue 16): the RDS backends one node may use, as comma-separated `name=host:port` (the NVMe/TCP
 * address of each). Parsed here without zod (the node plugin's module graph stays lean, issue 14 item 4); the schema
 * keeps the raw string, and every problem is a ConfigError naming the key, its flag and its env variable.
 */

export interface NodeBackendAddress {
  name: string;
  host: string;
  port: number;
  /** Named `rds.backend`: its segment is `<driver>/backend: <name>`; any other's is `<driver>/backend.<name>: "true"`. */
  primary: boolean;
}

const KEY = 'node.backends';
/** A Kubernetes label value (as schema.ts labelValue and src/domain/backend-id.ts). */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** An extra backend's topology key `<driver>/backend.<name>` must keep its name part a label key: 63 - "backend.". */
const EXTRA_NAME_MAX = 55;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function entryProblem(entry: string, primary: string, seen: Set<string>): string | NodeBackendAddress {
  const eq = entry.indexOf('=');
  if (eq < 0) return `entry ${JSON.stringify(entry)} is not name=host:port`;
  const name = entry.slice(0, eq).trim();
  const address = entry.slice(eq + 1).trim();
  if (!name || name.length > 63 || !LABEL_VALUE.test(name))
    return `backend name ${JSON.stringify(name)} is not a Kubernetes label value (letters, digits, "-", "_", ".", at most 63 characters, starting and ending with a letter or digit)`;
  if (name !== primary && name.length > EXTRA_NAME_MAX)
    return `backend name ${JSON.stringify(name)} has ${name.length} characters; an extra backend's name has at most ${EXTRA_NAME_MAX} (its topology key <driver name>/backend.<name> must stay a label key)`;
  if (seen.has(name)) return `backend ${name} is listed twice`;
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return `backend ${name}: address ${JSON.stringify(address)} is not host:port`;
  const bracketed = /^\[(.*)\]$/.exec(address.slice(0, colon));
  const host = bracketed ? bracketed[1] : address.slice(0, colon);
  const portRaw = address.slice(colon + 1);
  if (!host || host.length > 253 || !(bracketed ? IPV6.test(host) : HOST_NAME.test(host)))
    return `backend ${name}: ${JSON.stringify(host)} is not a host name or IP address${host.includes(':') && !bracketed ? ' (write an IPv6 address as [addr]:port)' : ''}`;
  const port = Number(portRaw);
  if (!/^\d{1,5}$/.test(portRaw) || port < 1 || port > 65535) return `backend ${name}: port ${JSON.stringify(portRaw)} is not 1-65535`;
  return { name, host, port, primary: name === primary };
}

/** The backends `raw` lists, in its order; empty for an empty string. Throws ConfigError listing every problem. */
export function nodeBackendsOf(raw: string, primary: string): NodeBackendAddress[] {
  const out: NodeBackendAddress[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (!entry) continue;
    const r = entryProblem(entry, primary, seen);
    if (typeof r === 'string') problems.push(r);
    else {
      seen.add(r.name);
      out.push(r);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration: ${describeKey(KEY)}: ${problems.join('; ')}`);
  return out;
}

/** How a backend's address is written back (logs, messages): host:port, an IPv6 host in brackets. */
export function addressOf(b: Pick<NodeBackendAddress, 'host' | 'port'>): string {
  return `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`;
}
