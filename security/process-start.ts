import { readFileSync } from "node:fs";
import { isProcessAlive } from "../concurrency/process-alive.ts";

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or "" where there is no /proc. */
export function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/**
 * Whether the process `pid` that started at `start` (as `processStart` gave it; "" when not known) still runs: its pid
 * alive, and, where /proc says, started then, so a pid reused after a kill -9 is not taken for it.
 */
export function processRuns(pid: number, start: string): boolean {
  if (!isProcessAlive(pid)) return false;
  const now = processStart(pid);
  return start === "" || now === "" || now === start;
}
