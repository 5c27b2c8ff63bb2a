import { readdirSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The pids of this user's processes that hold any of `paths` open (read from `/proc/<pid>/fd`, so Linux only; where
 * /proc cannot be read, every path counts as held, so a caller that would move or rewrite a file leaves it alone).
 * Keyed by path as given.
 */
export function processesHolding(paths: readonly string[]): Map<string, number[]> {
  const wanted = new Map(paths.map((path) => [resolve(path), path] as const));
  const holding = new Map<string, number[]>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    for (const path of paths) holding.set(path, [-1]);
    return holding;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const path = wanted.get(target);
      if (path !== undefined) holding.set(path, [...(holding.get(path) ?? []), Number(pid)]);
    }
  }
  return holding;
}
