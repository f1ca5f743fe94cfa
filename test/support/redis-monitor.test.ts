import { Redis } from 'ioredis';
import { addressOf, parseMonitorLine, traceCommands } from './redis-monitor';
import { startRedis, type TestRedis } from './redis';

/** The MONITOR reader the round-trip tests count with (redis-monitor.ts): lines as a real redis-server writes them. */
describe('MONITOR reader', () => {
  it.each([
    { line: '+1796560595.236744 [0 127.0.0.1:35116] "bzpopmin" "q:marker" "5"', source: '127.0.0.1:35116', args: ['bzpopmin', 'q:marker', '5'] },
    { line: '+1.5 [0 lua] "GET" "k"', source: 'lua', args: ['GET', 'k'] },
    {
      line: '+1.5 [3 unix:/tmp/r.sock] "set" "a\\"b" "c\\\\d" "e\\r\\nf" "\\x01\\xff"',
      source: 'unix:/tmp/r.sock',
      args: ['set', 'a"b', 'c\\d', 'e\r\nf', '\x01\xff'],
    },
    { line: '+OK', source: undefined, args: undefined },
  ])('$line', ({ line, source, args }) => {
    const cmd = parseMonitorLine(line);
    expect(cmd?.source).toBe(source);
    expect(cmd?.args).toEqual(args);
  });

  describe('against a real redis-server', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('reads back what a client sent, quotes, control bytes and UTF-8 included, named by the client address', async () => {
      const trace = await traceCommands(redis.url);
      const client = new Redis(redis.url);
      try {
        const value = 'a "quoted" \\ back\nslash é\x01';
        await client.set('monitor-k', value);
        const to = await trace.mark();
        const sent = trace.sentBy(client, 0, to).map((l) => l.args);
        // MONITOR writes bytes; the reader keeps them one char each (latin1), as the value's UTF-8 bytes.
        expect(sent).toContainEqual(['set', 'monitor-k', Buffer.from(value, 'utf8').toString('latin1')]);
        expect(addressOf(client)).toMatch(/^127\.0\.0\.1:\d+$/);
      } finally {
        client.disconnect();
        trace.stop();
      }
    });
  });
});
