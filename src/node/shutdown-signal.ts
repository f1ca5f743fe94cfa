import type { ToolResult, ToolRunner } from '../host/run';

/**
 * Is this node really shutting down, or is only the plugin's pod going away (restart, upgrade, eviction)? Both end
 * the plugin with SIGTERM (and the chart's preStop hook); only a node shutdown may lower ctrl_loss_tmo — a pod
 * restart must leave −1 so mounts survive an RDS outage. Asked of the host's init over D-Bus (dbus-send, the
 * host's sockets mounted by the chart), two questions, either "yes" meaning a shutdown:
 *
 * - logind's `PreparingForShutdown` (org.freedesktop.login1.Manager, system bus): true from the moment logind
 *   emits PrepareForShutdown(true), which is the signal kubelet's graceful node shutdown follows (it holds a delay
 *   inhibitor lock and terminates pods before releasing it; KEP-2000, kubernetes.io "Node Shutdowns"). So during
 *   kubelet's graceful shutdown of pods this is already true, while systemd is still "running".
 * - systemd's `SystemState` (org.freedesktop.systemd1.Manager, the manager's private socket
 *   /run/systemd/private, which PID 1 answers even after the bus daemon has stopped): "stopping" once
 *   shutdown.target is queued — the case without kubelet graceful shutdown, where systemd itself stops the
 *   container's scope with SIGTERM.
 *
 * Anything else — "running", the bus or the tool missing, a timeout — answers "not shutting down": when in doubt
 * the plugin keeps −1 (data safety first; the price is a slow shutdown, as before).
 */

export interface ShutdownSignalOptions {
  run: ToolRunner;
  /** dbus-send (the runtime image installs it: Debian's dbus-bin). */
  dbusSend: string;
  /** The host's system bus socket as mounted in the container. */
  systemBus: string;
  /** systemd's private socket as mounted in the container. */
  systemdPrivate: string;
  timeoutMs: number;
}

export interface ShutdownSignal {
  shuttingDown: boolean;
  /** What was asked and answered, for the log. */
  reason: string;
}

const PROPS = 'org.freedesktop.DBus.Properties.Get';

function property(o: ShutdownSignalOptions, target: string[], dest: string, object: string, iface: string, name: string): Promise<ToolResult> {
  const replyMs = Math.max(100, o.timeoutMs - 500);
  return o.run(
    o.dbusSend,
    [...target, '--print-reply', `--reply-timeout=${replyMs}`, `--dest=${dest}`, object, PROPS, `string:${iface}`, `string:${name}`],
    { timeoutMs: o.timeoutMs },
  );
}

/** `variant       boolean true` / `variant       string "stopping"` (dbus-send --print-reply). */
export function parseVariant(stdout: string): string | boolean | undefined {
  const b = /variant\s+boolean\s+(true|false)\b/.exec(stdout);
  if (b) return b[1] === 'true';
  const s = /variant\s+string\s+"([^"]*)"/.exec(stdout);
  return s ? s[1] : undefined;
}

async function ask(what: string, call: () => Promise<ToolResult>): Promise<{ value?: string | boolean; note: string }> {
  try {
    const r = await call();
    if (r.code !== 0) return { note: `${what}: unknown (${r.timedOut ? 'timed out' : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`)})` };
    const value = parseVariant(r.stdout);
    return value === undefined ? { note: `${what}: unknown (unexpected reply)` } : { value, note: `${what}=${String(value)}` };
  } catch (err) {
    return { note: `${what}: unknown (${(err as Error).message})` };
  }
}

export async function nodeShutdownSignal(o: ShutdownSignalOptions): Promise<ShutdownSignal> {
  const logind = await ask('logind PreparingForShutdown', () =>
    property(
      o,
      [`--bus=unix:path=${o.systemBus}`],
      'org.freedesktop.login1',
      '/org/freedesktop/login1',
      'org.freedesktop.login1.Manager',
      'PreparingForShutdown',
    ),
  );
  if (logind.value === true) return { shuttingDown: true, reason: logind.note };
  const systemd = await ask('systemd SystemState', () =>
    property(
      o,
      [`--peer=unix:path=${o.systemdPrivate}`],
      'org.freedesktop.systemd1',
      '/org/freedesktop/systemd1',
      'org.freedesktop.systemd1.Manager',
      'SystemState',
    ),
  );
  return { shuttingDown: systemd.value === 'stopping', reason: `${logind.note}; ${systemd.note}` };
}
