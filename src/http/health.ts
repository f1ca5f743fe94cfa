/**
 * The /healthz answer of a process with several parts to check (issue 16: the controller's Redis and each RDS
 * backend). Ready when every check passes and, if there are backends, at least one of them answers; the body lists
 * every check and backend with up or down. Only up/down: /healthz is unauthenticated, so no addresses or errors.
 */
export interface HealthPart {
  name: string;
  up: boolean;
}

export interface HealthReport {
  ready: boolean;
  parts: HealthPart[];
}

/** `ok` or `not ready`, then one `<name>: up|down` line per part. */
export function healthBody(r: HealthReport): string {
  return [r.ready ? 'ok' : 'not ready', ...r.parts.map((p) => `${p.name}: ${p.up ? 'up' : 'down'}`)].join('\n') + '\n';
}

/**
 * `checks` must all pass (they throw when not); `backends` gives each backend's (cached) status, listed as
 * `backend <name>`, and at least one must be up.
 */
export function healthReport(
  checks: ReadonlyArray<{ name: string; check(): Promise<unknown> }>,
  backends?: () => Promise<ReadonlyArray<{ name: string; up: boolean }>>,
): () => Promise<HealthReport> {
  return async () => {
    const [own, rds] = await Promise.all([
      Promise.all(
        checks.map((c) =>
          c.check().then(
            () => ({ name: c.name, up: true }),
            () => ({ name: c.name, up: false }),
          ),
        ),
      ),
      backends ? backends().then((list) => list.map((b) => ({ name: `backend ${b.name}`, up: b.up }))) : Promise.resolve(undefined),
    ]);
    const ready = own.every((p) => p.up) && (!rds || rds.some((p) => p.up));
    return { ready, parts: [...own, ...(rds ?? [])] };
  };
}
