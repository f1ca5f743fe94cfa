/**
 * Imported first by main.ts, before any module that loads node-routeros or `debug`: removes node-routeros' debug
 * namespaces from DEBUG (they print the RouterOS login password) and says so on stderr.
 */
import { withoutRouterosDebug } from '../log/debug-guard';

const guard = withoutRouterosDebug(process.env.DEBUG);
if (guard.removed.length > 0) {
  process.env.DEBUG = guard.value;
  process.stderr.write(
    JSON.stringify({
      level: 40,
      time: Date.now(),
      name: 'rds-csi',
      removed: guard.removed,
      debug: guard.value,
      msg: "DEBUG: node-routeros' debug output (routeros-api:*) is switched off: it prints the RouterOS login password",
    }) + '\n',
  );
}
