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

export async function traceCommands(url: string): Promise<CommandTrace> {
  const base = new Redis(url, { maxRetriesPerRequest: 1 });
  const monitor = await base.monitor();
  const lines: MonitoredCommand[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => lines.push({ source, args }));
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
      monitor.disconnect();
      base.disconnect();
    },
  };
}
