/** Commands received, counted per command path (for tests and benchmarks). */
export class Stats {
  private readonly counts = new Map<string, number>();

  inc(path: string): void {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}
