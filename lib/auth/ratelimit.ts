// In-memory sliding-window limiter for failed logins, per source address.
export interface RateLimitOptions {
  max: number;
  windowMs: number;
  now?: () => number;
}

export class FailureLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(opts: RateLimitOptions) {
    this.max = opts.max;
    this.windowMs = opts.windowMs;
    this.now = opts.now ?? Date.now;
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.hits.set(key, list);
    else this.hits.delete(key);
    return list;
  }

  /** Milliseconds until another attempt is allowed (0 = allowed now). */
  blockedFor(key: string): number {
    const list = this.recent(key);
    if (list.length < this.max) return 0;
    return Math.max(1, list[list.length - this.max] + this.windowMs - this.now());
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.hits.set(key, list);
    if (this.hits.size > 10000) {
      // Bound memory: forget the oldest keys.
      const first = this.hits.keys().next().value;
      if (first !== undefined) this.hits.delete(first);
    }
  }

  reset(key: string): void {
    this.hits.delete(key);
  }
}

const g = globalThis as unknown as { __lwLoginLimiter?: FailureLimiter };
/** The process-wide login limiter: 5 failures per 5 minutes per source address. */
export function loginLimiter(): FailureLimiter {
  g.__lwLoginLimiter ??= new FailureLimiter({ max: 5, windowMs: 5 * 60_000 });
  return g.__lwLoginLimiter;
}
