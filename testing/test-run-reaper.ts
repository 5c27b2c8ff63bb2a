// Every process a test run starts ends with the run, however the run ends (SIGTERM, SIGKILL, a CI timeout that
// kills the process group). package.json's test scripts start bun test with a run id in ORG_TEST_RUN, which
// everything the run starts inherits (tmux servers and the windows they run included), and preload
// `test-run-preload.ts`: it starts a watcher that, once the run's bun test process is gone however it went, ends
// every process carrying the id, and those it saw below the test process (a test may start one with an
// environment of its own).
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { descendants } from "./process-tree.ts";

/** The variable that tags a test run's processes: the ids of the runs it belongs to, space-separated (a run started by a test belongs to both). */
export const TEST_RUN_ENV = "ORG_TEST_RUN";

/** A process as the kernel tells it apart from a later one with the same pid: its start time in clock ticks. */
export type ProcessIdentity = { pid: number; start: string };

/** The start time of `pid` (field 22 of /proc/pid/stat), or undefined when it is gone or a zombie. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the process is still the one identified (not gone, not a zombie, its pid not reused). */
export function isSameProcess(identity: ProcessIdentity): boolean {
  return startTime(identity.pid) === identity.start;
}

function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
  } catch {
    return [];
  }
}

/** The live processes whose environment has `name` holding `value` as one of its space-separated words. */
export function processesTagged(name: string, value: string): ProcessIdentity[] {
  const found: ProcessIdentity[] = [];
  const prefix = `${name}=`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const variable = environOf(pid).find((line) => line.startsWith(prefix));
    if (!variable?.slice(prefix.length).split(" ").includes(value)) continue;
    const start = startTime(pid);
    if (start !== undefined) found.push({ pid, start });
  }
  return found;
}

/** The processes below `pid` now, through every thread's children. */
export function descendantsOf(pid: number): ProcessIdentity[] {
  return descendants(pid).flatMap((child) => {
    const start = startTime(child);
    return start === undefined ? [] : [{ pid: child, start }];
  });
}

function signal(identities: Iterable<ProcessIdentity>, name: "SIGTERM" | "SIGKILL"): void {
  for (const identity of identities) {
    if (identity.pid <= 1 || identity.pid === process.pid || !isSameProcess(identity)) continue;
    try {
      process.kill(identity.pid, name);
    } catch {}
  }
}

/**
 * Ends the run's processes: those tagged with `runId` and those in `seen` that are still the same processes. Each
 * round asks them to stop (SIGTERM), gives them `graceMs`, then kills what is left, and looks again for tagged
 * processes started meanwhile; it stops after a round that finds none, or after `rounds`. Returns how many it ended.
 */
export async function reapRun(
  runId: string,
  seen: Iterable<ProcessIdentity> = [],
  options: { graceMs?: number; rounds?: number } = {},
): Promise<number> {
  const graceMs = options.graceMs ?? 1_500;
  let ended = 0;
  let extra = [...seen];
  for (let round = 0; round < (options.rounds ?? 5); round += 1) {
    const targets = [...processesTagged(TEST_RUN_ENV, runId), ...extra].filter(isSameProcess);
    extra = [];
    if (targets.length === 0) break;
    ended += targets.length;
    signal(targets, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && targets.some(isSameProcess)) await Bun.sleep(50);
    signal(targets, "SIGKILL");
  }
  return ended;
}

/** The parent of `pid` (field 4 of /proc/pid/stat), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(parent) && parent > 0 ? parent : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process above `pid` (not `pid` itself) carries `runId` as its own run id. */
export function ancestorTagged(pid: number, runId: string): boolean {
  for (let parent = parentOf(pid); parent !== undefined && parent > 1; parent = parentOf(parent)) {
    const variable = environOf(parent).find((line) => line.startsWith(`${TEST_RUN_ENV}=`));
    if (variable !== undefined && ownRunId({ [TEST_RUN_ENV]: variable.slice(TEST_RUN_ENV.length + 1) }) === runId) return true;
  }
  return false;
}

/** This run's own id: the last word of the tag (the words before it are the runs this one was started in). */
export function ownRunId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[TEST_RUN_ENV]?.trim().split(/\s+/).at(-1) || undefined;
}

/** The file (in the run's temp folder) whose creation makes one process of a run the one that starts its watcher. */
export function watcherClaimFile(runId: string, folder: string = tmpdir()): string {
  return join(folder, `org-test-run-watcher-${runId.replace(/[^\w.-]/g, "_")}`);
}

/**
 * Starts the watcher that reaps the run when the process that owns it is gone: bun test's coordinator for a
 * `--parallel` worker (workers end one by one; the run ends with the coordinator), else this process. The run id
 * comes from the environment this process was started with (package.json's test scripts set it): only that reaches
 * what a test starts with Bun.spawn's default environment. The watcher is in a session of its own (a kill of the
 * run's process group spares it) and carries no run id itself. One watcher serves the run: the first worker to
 * claim it (`watcherClaimFile`) starts it, watching below the owner, where every worker runs; a watcher a worker
 * cost 1.5–2 ms of CPU a second each, six of them through a whole `npm test`. Returns the run id, or undefined
 * without one.
 */
export function startLifeline(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const runId = ownRunId(env);
  if (runId === undefined) return undefined;
  const owner = env.BUN_TEST_WORKER_ID ? process.ppid : process.pid;
  // A bun test started by a test of the run, with the run's tag as it inherited it, is part of that run, not a run
  // of its own: a watcher of its own would reap the whole outer run as soon as this inner one ended.
  if (ancestorTagged(owner, runId)) return undefined;
  const claim = watcherClaimFile(runId);
  try {
    closeSync(openSync(claim, "wx"));
  } catch (error) {
    // Another worker of the run claimed it first: its watcher watches this worker too.
    if (errorCode(error) === "EEXIST") return runId;
    throw error;
  }
  const { [TEST_RUN_ENV]: _tag, ...untagged } = env;
  // Started through a shell that leaves it behind: bun ends the processes it spawned when a worker exits, and the
  // watcher must outlive the worker.
  const watcher = Bun.spawn(
    [
      "/bin/sh",
      "-c",
      '"$@" </dev/null >/dev/null 2>&1 &',
      "sh",
      process.execPath,
      "--no-env-file",
      join(import.meta.dir, "test-run-watcher.ts"),
      runId,
      String(owner),
      claim,
    ],
    { env: untagged, stdin: "ignore", stdout: "ignore", stderr: "ignore", detached: true },
  );
  watcher.unref();
  return runId;
}
