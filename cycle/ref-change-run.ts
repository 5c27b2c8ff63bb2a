import { currentInstance } from "./current-instance.ts";
import { promotionContext } from "./promotion-context.ts";
import type { RefChangeContext } from "./ref-change.ts";

/**
 * What a promote or rollback of the repository at `repoDir` runs with: the repository, its journal, current
 * (restarted on `port` unless `restart` is false, its script given `scriptArgs`), the log and the signal.
 */
export function refChangeRun(
  repoDir: string,
  options: { restart: boolean; port: number; healthTimeoutMs: number; scriptArgs: string[]; log: (line: string) => void; signal: AbortSignal },
): RefChangeContext {
  const { restart, port, healthTimeoutMs, scriptArgs, log, signal } = options;
  const current = restart ? currentInstance(repoDir, port, healthTimeoutMs, log, scriptArgs) : undefined;
  return promotionContext({ repo: repoDir, log, signal, ...(current ? { current } : {}) });
}
