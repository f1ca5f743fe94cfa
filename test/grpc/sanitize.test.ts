import { stripSecrets } from '../../src/grpc/sanitize';

describe('stripSecrets', () => {
  it('removes every secrets map at any depth and keeps the rest', () => {
    const req = { name: 'v', secrets: { password: 'hunter2' }, nested: { secrets: { token: 't' }, keep: 1 }, list: [{ secrets: { a: 'b' } }] };
    const out = JSON.stringify(stripSecrets(req));
    expect(out).not.toContain('hunter2');
    expect(out).not.toMatch(/"token"|"t"|"password"/);
    expect(out).toContain('"name":"v"');
    expect(out).toContain('"keep":1');
    expect(out).toContain('[1 redacted]');
  });

  it('never passes a too-deep subtree through whole (a secrets map there would leak)', () => {
    let deep: Record<string, unknown> = { secrets: { password: 'hunter2' } };
    for (let i = 0; i < 12; i++) deep = { next: deep };
    const out = JSON.stringify(stripSecrets(deep));
    expect(out).not.toContain('hunter2');
    expect(out).toContain('[…deeper]');
  });
});
