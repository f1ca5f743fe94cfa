/**
 * node-routeros logs through the `debug` package under `routeros-api:*`, and its transmitter/receiver namespaces
 * print every sentence on the wire, the `/login` sentence with `=password=` included (node-routeros
 * dist/connector/Transmitter.js: `info('Writing command %s over the socket', data)`). `DEBUG` is settable
 * through the chart's extraEnv, so the CLI removes those namespaces from DEBUG before node-routeros (or `debug`)
 * is loaded. `debug` reads DEBUG once, when it is first required (debug src/node.js `load()`), and a `-name` skip
 * wins over every enabling pattern (debug src/common.js `enabled()`), so a wildcard such as `*` gets a skip added.
 */

/** The namespaces node-routeros 1.6.9 creates (dist/Channel.js, RouterOSAPI.js, connector/*.js). */
export const ROUTEROS_DEBUG_NAMESPACES = [
  'routeros-api:channel:info',
  'routeros-api:channel:error',
  'routeros-api:api:info',
  'routeros-api:api:error',
  'routeros-api:connector:connector:info',
  'routeros-api:connector:connector:error',
  'routeros-api:connector:receiver:info',
  'routeros-api:connector:receiver:error',
  'routeros-api:connector:transmitter:info',
  'routeros-api:connector:transmitter:error',
];
export const ROUTEROS_DEBUG_SKIP = '-routeros-api:*';

/** debug's template match: `*` matches any run of characters, everything else itself, the whole name. */
function matches(name: string, template: string): boolean {
  const re = new RegExp(
    `^${template
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

export interface DebugGuardResult {
  /** The DEBUG value to use (undefined: leave the variable unset). */
  value: string | undefined;
  /** The patterns of the original value that enabled a routeros-api namespace (empty: nothing changed). */
  removed: string[];
}

export function withoutRouterosDebug(debug: string | undefined): DebugGuardResult {
  if (!debug || !debug.trim()) return { value: debug, removed: [] };
  const patterns = debug
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  const skips = patterns.filter((p) => p.startsWith('-')).map((p) => p.slice(1));
  const live = ROUTEROS_DEBUG_NAMESPACES.filter((ns) => !skips.some((s) => matches(ns, s)));
  const enablesRouteros = (p: string): boolean => !p.startsWith('-') && live.some((ns) => matches(ns, p));
  const removed = patterns.filter(enablesRouteros);
  if (removed.length === 0) return { value: debug, removed: [] };
  // Patterns that name only node-routeros go; broader ones (`*`, `r*`) stay, with a skip that wins over them.
  const kept = patterns.filter((p) => !(enablesRouteros(p) && p.startsWith('routeros')));
  return { value: [...kept.filter((p) => p !== ROUTEROS_DEBUG_SKIP), ROUTEROS_DEBUG_SKIP].join(','), removed };
}
