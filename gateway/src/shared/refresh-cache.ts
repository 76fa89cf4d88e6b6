/**
 * A read-through cache for lookups on the request path (API keys, tiers). An entry is served for
 * `ttlMs` from the moment its load started and never after; once half of that has passed, the next
 * read starts a reload in the background, so a key in steady use never makes a request wait for
 * the database (on a busy gateway a lookup queues behind receipt writes for milliseconds). Reads that
 * miss at the same time share one load.
 *
 * `delete` wins over loads in flight: a load that started before it is not stored, so a revoked
 * key is never put back by a lookup that read the row just before the revocation.
 */
export class RefreshCache<V> {
  private readonly entries = new Map<string, { value: V; loadedFrom: number }>();
  /**
   * Loads in flight. `delete` drops a key's load here too, so a load stores its value only while it
   * is still the key's current one.
   */
  private readonly loading = new Map<string, Promise<V>>();
  private readonly ttlMs: number;
  private readonly load: (key: string) => Promise<V>;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(ttlMs: number, load: (key: string) => Promise<V>, opts: { maxEntries?: number; now?: () => number } = {}) {
    this.ttlMs = ttlMs;
    this.load = load;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  async get(key: string): Promise<V> {
    const e = this.entries.get(key);
    const age = e ? this.now() - e.loadedFrom : Infinity;
    if (e && age < this.ttlMs) {
      if (age >= this.ttlMs / 2) this.fetch(key).catch(() => {}); // the next read sees the error, if it persists
      return e.value;
    }
    return this.fetch(key);
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  private fetch(key: string): Promise<V> {
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const loadedFrom = this.now();
    const p = this.load(key).then(
      (value) => {
        if (this.loading.get(key) === p) {
          this.loading.delete(key);
          if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.entries.clear();
          this.entries.set(key, { value, loadedFrom });
        }
        return value;
      },
      (err: unknown) => {
        if (this.loading.get(key) === p) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, p);
    return p;
  }
}
