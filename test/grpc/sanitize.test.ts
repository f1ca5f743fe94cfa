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
});
