/** Calls made in the last minute, per caller, oldest first: the web tools' rate limits. */
export class PerMinuteLimit {
  #times = new Map<string, number[]>();
  constructor(
    readonly limit: number,
    readonly now: () => number,
  ) {}
  /** Takes one call for `who`; the seconds to wait when the minute's allowance is spent. */
  take(who: string): number | undefined {
    const now = this.now();
    const recent = (this.#times.get(who) ?? []).filter((time) => now - time < 60_000);
    const oldest = recent[0];
    if (oldest !== undefined && recent.length >= this.limit) return Math.ceil((60_000 - (now - oldest)) / 1000);
    recent.push(now);
    this.#times.set(who, recent);
    return undefined;
  }
}
