// The watcher `startLifeline` starts: `bun test-run-watcher.ts RUN_ID OWNER_PID CLAIM_FILE`. When OWNER_PID (the
// run's bun test process, every worker below it) is gone, it reaps the run: the processes tagged RUN_ID, and those it
// saw below OWNER_PID; then it removes CLAIM_FILE, the claim that made it the run's one watcher.
import { rmSync } from "node:fs";
import { descendantsOf, type ProcessIdentity, reapRun, startTime } from "./test-run-reaper.ts";

const [runId, ownerText, claim] = process.argv.slice(2);
const owner = Number(ownerText);
const ownerStart = startTime(owner);
if (!runId || !Number.isInteger(owner) || owner <= 1 || !claim) {
  console.error("usage: bun test-run-watcher.ts RUN_ID OWNER_PID CLAIM_FILE");
  process.exit(2);
}

// A signal to the run's process group or session reaches the watcher only if it was started in a shell's; it stays.
for (const name of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(name, () => undefined);

// What runs below the run's process, looked at each second: a process started with an environment of its own (no
// run id) would otherwise be lost once its test process is gone and init adopts it.
const seen = new Map<string, ProcessIdentity>();
for (let tick = 0; ownerStart !== undefined && startTime(owner) === ownerStart; tick += 1) {
  if (tick % 4 === 0) for (const identity of descendantsOf(owner)) seen.set(`${identity.pid}:${identity.start}`, identity);
  await Bun.sleep(250);
}
await reapRun(runId, seen.values());
rmSync(claim, { force: true });
process.exit(0);
