/**
 * The child's side of forkIpc's protocol (ipc-child.ts), for a bench helper process: answers each `{ id, op }` with
 * `ops[op]()`, and `close` with `close()` before it disconnects; exits when the bench process goes away; then says it
 * is ready.
 */
export function serveIpc(close: () => Promise<void>, ops: Record<string, () => unknown> = {}): void {
  process.on('message', (m: { id: number; op: string }) => {
    const op = ops[m.op];
    if (op) {
      process.send?.({ id: m.id, result: op() });
      return;
    }
    close().then(
      () => {
        process.send?.({ id: m.id, result: null });
        process.disconnect();
      },
      (err: Error) => process.send?.({ id: m.id, error: err.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}
