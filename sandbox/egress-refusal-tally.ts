import type { EgressConnection } from "./egress-guard.ts";

/** Refusals of one host, port and rule that are each a line of a run's audit; the rest are counted. */
export const REFUSAL_LINES_PER_RULE = 3;
/** Refusal lines of one run in all (a command trying host after host); the rest are counted. */
export const REFUSAL_LINES_PER_RUN = 100;

/** What a refusal past the run's lines is recorded under when its host, port and rule had no line yet. */
const MORE_HOSTS = "(more hosts)";

type Tally = { first: EgressConnection; lines: number; uncounted: number };

/**
 * Which of a run's refused connections get an audit line of their own: the first REFUSAL_LINES_PER_RULE of each host,
 * port and rule, up to REFUSAL_LINES_PER_RUN in all. A command looping on a refused host would otherwise write without
 * bound; the rest are counted, and `ending` turns the counts into one line each when the run ends. Allowed connections
 * are not its business: each is a line.
 */
export class RefusalTally {
  readonly #tallies = new Map<string, Tally>();
  #lines = 0;
  #elsewhere = 0;
  #ended = false;

  /** Whether `connection` (refused) gets a line now; false means it is counted for the line at the end. */
  admit(connection: EgressConnection): boolean {
    // After the end, what is still recorded (a connection cut as the guard stopped) is a line: there is no later.
    if (this.#ended) return true;
    const key = `${connection.host}\u0000${connection.port}\u0000${connection.rule}`;
    const tally = this.#tallies.get(key);
    if (this.#lines < REFUSAL_LINES_PER_RUN && (tally === undefined || tally.lines < REFUSAL_LINES_PER_RULE)) {
      this.#lines += 1;
      if (tally === undefined) this.#tallies.set(key, { first: connection, lines: 1, uncounted: 0 });
      else tally.lines += 1;
      return true;
    }
    if (tally === undefined) this.#elsewhere += 1;
    else tally.uncounted += 1;
    return false;
  }

  /** The lines that stand for the refusals not written one by one: one per host, port and rule, and one for the rest. */
  ending(): EgressConnection[] {
    if (this.#ended) return [];
    this.#ended = true;
    const lines: EgressConnection[] = [];
    for (const { first, uncounted } of this.#tallies.values())
      if (uncounted > 0) lines.push({ ...first, bytesIn: 0, bytesOut: 0, durationMs: 0, repeated: uncounted });
    if (this.#elsewhere > 0)
      lines.push({
        host: MORE_HOSTS,
        port: 0,
        rule: `refused past the run's ${REFUSAL_LINES_PER_RUN} lines of refusals`,
        allowed: false,
        bytesIn: 0,
        bytesOut: 0,
        durationMs: 0,
        repeated: this.#elsewhere,
      });
    return lines;
  }
}
