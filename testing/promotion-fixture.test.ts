import { expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { liveCurrents, promotionRepo, stopCurrents } from "./promotion-fixture.ts";
import { isSameProcess, startTime } from "./test-run-reaper.ts";
import { waitUntil } from "./wait-until.ts";

// The machine reuses pids within minutes while the suite runs (pid_max is often 32768). A fixture that signalled a
// listed pid without asking whether it was still the process it started once SIGKILLed another test's server in its
// tmux window ('candidate prune' then found the window gone: "(absent)", not "(stopped)").
test("stopCurrents kills the fake currents start-current started, never a process that took a listed pid", async () => {
  using repo = promotionRepo();
  const started = Bun.spawnSync([join(repo.dir, "ops", "start-current.sh")], { env: { ...process.env, ORG_CURRENT_PORT: String(freePort()) } });
  expect(started.exitCode).toBe(0);
  const [current] = liveCurrents(repo.dir);
  expect(current).toBeNumber();
  const currentIdentity = { pid: current as number, start: startTime(current as number) ?? "" };
  // Another process whose pid the list holds, as a current's pid that the machine has given to it since: listed bare
  // (as the fixture once wrote them), and with a start time that is not its own.
  const other = Bun.spawn(["sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  try {
    const otherIdentity = { pid: other.pid, start: startTime(other.pid) ?? "" };
    appendFileSync(join(repo.dir, ".org", "current-pids"), `${other.pid}\n${other.pid} ${Number(otherIdentity.start) - 100}\n`);
    expect(liveCurrents(repo.dir)).toEqual([current as number]);
    stopCurrents(repo.dir);
    await waitUntil("the fake current to end", () => !isSameProcess(currentIdentity));
    expect(isSameProcess(otherIdentity)).toBe(true);
  } finally {
    other.kill("SIGKILL");
  }
}, 30_000);
