import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { processesHolding } from "../concurrency/open-files.ts";
import { JobsLog, SERVE_STATE_DIR } from "./jobs-log.ts";
import { JobsQueue } from "./jobs-queue.ts";

/** What compacting an idle job log did: the bytes it freed (the log and expired results), or why it did not run. */
export type IdleCompaction = { ran: true; freedBytes: number } | { ran: false; reason: string };

function folderBytes(dir: string): number {
  try {
    let total = statSync(join(dir, "jobs.wal")).size;
    for (const name of readdirSync(join(dir, "results"))) total += statSync(join(dir, "results", name)).size;
    return total;
  } catch {
    return 0;
  }
}

/**
 * Compacts the workspace's job log, and removes results past their time, while no serve runs on it (a serve that runs
 * compacts its own, and a log rewritten under it would lose its later lines): exactly what serve does when it starts,
 * through the queue's own code, with no worker, so no job runs. `dedupTtlS` and `ttlS` as serve takes them.
 */
export async function compactIdleJobsLog(
  workspaceDir: string,
  options: { dedupTtlS: number; ttlS: number; now?: () => number },
): Promise<IdleCompaction> {
  const dir = join(workspaceDir, SERVE_STATE_DIR);
  const wal = join(dir, "jobs.wal");
  if (!statSync(wal, { throwIfNoEntry: false })?.isFile()) return { ran: false, reason: "there is no job log" };
  const holders = processesHolding([wal]).get(wal);
  if (holders) return { ran: false, reason: `serve has it open (pid ${holders.join(", ")}); it compacts its own log` };
  const before = folderBytes(dir);
  const log = new JobsLog(workspaceDir, true);
  const queue = new JobsQueue({
    log,
    run: async () => {
      throw new Error("no job runs while the supervisor compacts the log");
    },
    workers: 0,
    dedupTtlS: options.dedupTtlS,
    ttlS: options.ttlS,
    compactAboveBytes: 0,
    logError: () => {},
    ...(options.now ? { now: options.now } : {}),
  });
  try {
    queue.start();
  } finally {
    await queue.close();
  }
  return { ran: true, freedBytes: Math.max(0, before - folderBytes(dir)) };
}
