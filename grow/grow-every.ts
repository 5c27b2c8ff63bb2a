import { sleep } from "../concurrency/sleep.ts";
import { formatDuration } from "../config/duration.ts";
import { GrowBusyError } from "./grow-lock.ts";
import type { GrowOutcome } from "./run-grow.ts";

/**
 * Runs `run` now and then every `everyMs` (measured from the end of one run to the start of the next) until `signal`
 * aborts: what `org grow` without --once, `ops/grow.sh` and `serve --grow-every` do. A run another process holds the
 * lock for is skipped, and one that fails is said and the next tried: an unattended loop outlives a bad hour.
 */
export async function growEvery(options: {
  everyMs: number;
  run: () => Promise<GrowOutcome>;
  onRun?: (outcome: GrowOutcome) => void;
  /** A line for the log: a skipped run, a failure, when the next run starts. */
  say: (line: string) => void;
  /** A failed run's error as the log shows it: the CLI's report, redacted (an error may quote a URL with a key). */
  describe: (error: unknown) => string;
  /** Why runs wait now (`org supervise` paused them, grow/grow-pause.ts), or undefined; asked before each run. */
  paused?: () => { reason: string; since: string } | undefined;
  /** How often a paused loop looks again (default: a minute, or `everyMs` when shorter). */
  pollMs?: number;
  signal: AbortSignal;
}): Promise<void> {
  const { signal, say } = options;
  while (!signal.aborted) {
    if (await waitWhilePaused(options)) break;
    try {
      // Awaited first: `onRun?.(await run())` would skip the run itself whenever no onRun is given.
      const outcome = await options.run();
      options.onRun?.(outcome);
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof GrowBusyError) say(`skipped: ${error.message}`);
      else say(`the run failed: ${options.describe(error)}`);
    }
    if (signal.aborted) break;
    say(`next run in ${formatDuration(options.everyMs)}, at ${new Date(Date.now() + options.everyMs).toISOString()}`);
    await sleep(options.everyMs, signal);
  }
}

/** While runs are paused: says so once, looks again every poll, and says when they resume. True when stopped meanwhile. */
async function waitWhilePaused(options: Parameters<typeof growEvery>[0]): Promise<boolean> {
  let pause = options.paused?.();
  if (!pause) return false;
  options.say(`paused since ${pause.since}: ${pause.reason}; the next run starts once it is lifted`);
  while (pause && !options.signal.aborted) {
    await sleep(options.pollMs ?? Math.min(60_000, options.everyMs), options.signal);
    pause = options.paused?.();
  }
  if (options.signal.aborted) return true;
  options.say("resumed: the pause was lifted");
  return false;
}
