import { once } from 'node:events';
import net from 'node:net';
import { Redis } from 'ioredis';

/**
 * Every command Redis receives, as MONITOR prints it (test/queue/redis-round-trips.test.ts counts a whole create this
 * way): `source` is the sending client's address, or `lua` for a command a script ran (not a round trip).
 */
export interface MonitoredCommand {
  source: string;
  args: string[];
}

export interface CommandTrace {
  readonly lines: MonitoredCommand[];
  /** The round trips `client` sent in `lines[from, to)` (default: all of them). */
  sentBy(client: Redis, from?: number, to?: number): MonitoredCommand[];
  /**
   * MONITOR's feed lags behind the replies: waits until every command Redis ran before this call is in `lines`, and
   * returns the index after them (a PING of a marker through another connection, then its line).
   */
  mark(): Promise<number>;
  stop(): void;
}

/** The address MONITOR names a client by: its local end of the TCP connection. */
export function addressOf(client: Redis): string {
  return `${client.stream.localAddress ?? ''}:${client.stream.localPort ?? ''}`;
}

/**
 * One MONITOR line (`+1796560595.236744 [0 127.0.0.1:35116] "bzpopmin" "key" "5"`): its source and its arguments,
 * unquoted as Redis quotes them (sdscatrepr in sds.c: \\ \" \n \r \t \a \b and \xHH).
 */
export function parseMonitorLine(line: string): MonitoredCommand | undefined {
  const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!m) return undefined;
  const args: string[] = [];
  const rest = m[2];
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== '"') continue;
    let arg = '';
    for (i++; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] !== '\\') arg += rest[i];
      else if (rest[i + 1] === 'x') {
        arg += String.fromCharCode(parseInt(rest.slice(i + 2, i + 4), 16));
        i += 3;
      } else arg += simple[rest[++i]] ?? rest[i];
    }
    args.push(arg);
  }
  return { source: m[1], args };
}

/**
 * MONITOR over a plain socket: ioredis's monitor() switches a connection to monitoring only once it has handled
 * MONITOR's OK, and a command line that arrives in the same read as the OK (a busy worker's BZPOPMIN) then meets an
 * empty command queue ("Command queue state error", which failed job-waiter-costs.test.ts under load).
 */
export async function traceCommands(url: string): Promise<CommandTrace> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await once(socket, 'connect');
  const lines: MonitoredCommand[] = [];
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const cmd = parseMonitorLine(line);
      if (cmd) lines.push(cmd);
    }
  });
  socket.on('error', () => undefined);
  socket.write('MONITOR\r\n');
  const probe = new Redis(url, { maxRetriesPerRequest: 1 });
  let marks = 0;
  const mark = async (): Promise<number> => {
    const token = `trace-mark-${++marks}`;
    await probe.ping(token);
    for (let i = 0; i < 400; i++) {
      const at = lines.findIndex((l) => l.args.includes(token));
      if (at >= 0) return at + 1;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`MONITOR did not show ${token} within 2 s`);
  };
  await mark(); // MONITOR answers OK before it streams: from here on every command is seen
  return {
    lines,
    sentBy: (client, from = 0, to = lines.length) => lines.slice(from, to).filter((l) => l.source === addressOf(client)),
    mark,
    stop() {
      probe.disconnect();
      socket.destroy();
    },
  };
}
