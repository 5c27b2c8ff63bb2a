import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIRM_RUNS, checkScenarios } from "./scenarios.ts";

// The tests wait on slow answers (seconds each) and share nothing, each with its own servers and folder: they run at
// once (`test.concurrent`), so the file takes as long as its slowest test.

/** A folder of one scenario, removed when disposed. */
function scenarioDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "org-scenarios-"));
  writeFileSync(
    join(dir, "greets.json"),
    JSON.stringify({ name: "greets", request: { text: "hi" }, expect: { events: ["reply-end"], includes: ["hello"] } }),
  );
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An instance's /v1/messages on 127.0.0.1 that answers after `delayMs(n)` for its n-th request (0-based). */
function instance(delayMs: (request: number) => number) {
  let requests = 0;
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch() {
      await Bun.sleep(delayMs(requests++));
      return new Response('data: {"type":"reply-start"}\n\ndata: {"type":"reply-end","text":"hello"}\n\n', {
        headers: { "content-type": "text/event-stream" },
      });
    },
  });
}

// The slow answers need only clear the margin by far more than a busy machine's noise (a loopback answer's median
// under load is tens of ms); each slow run is a wait, five of them when a slowdown is confirmed.
const settings = { runs: 1, marginRatio: 0.5, marginMs: 500, timeoutMs: 30_000 };

test.concurrent("a slowdown seen once (a moment of load) is looked at again over more runs, and the medians of all let the candidate pass", async () => {
  using current = instance(() => 0);
  using candidate = instance((request) => (request === 0 ? 2_500 : 0));
  using scenarios = scenarioDir();
  const checks = await checkScenarios({ dir: scenarios.dir, ...settings, currentPort: Number(current.port), candidatePort: Number(candidate.port) });
  expect(checks.map((check) => check.ok)).toEqual([true, true]);
  expect(checks[0]?.figures).toMatchObject({ runs: CONFIRM_RUNS, slowdownRechecked: true, currentOk: true, candidateOk: true });
});

test.concurrent("a candidate slow on every run is refused after the confirming runs, naming the limit", async () => {
  using current = instance(() => 0);
  // 3 s: at a load of 25 on 2 cores current's own answer took most of a second, and 1.2 s fell inside the margin.
  using candidate = instance(() => 3_000);
  using scenarios = scenarioDir();
  const checks = await checkScenarios({ dir: scenarios.dir, ...settings, currentPort: Number(current.port), candidatePort: Number(candidate.port) });
  expect(checks).toHaveLength(1);
  expect(checks[0]?.ok).toBe(false);
  expect(checks[0]?.reason).toContain("over the limit");
  expect(checks[0]?.figures).toMatchObject({ runs: CONFIRM_RUNS, slowdownRechecked: true });
  expect(Number(checks[0]?.figures?.candidateMs)).toBeGreaterThan(Number(checks[0]?.figures?.limitMs));
}, 60_000);

test.concurrent("a candidate within the margin is judged on the runs asked for, with no confirming runs", async () => {
  using current = instance(() => 0);
  using candidate = instance(() => 0);
  using scenarios = scenarioDir();
  const checks = await checkScenarios({
    dir: scenarios.dir,
    ...settings,
    runs: 2,
    currentPort: Number(current.port),
    candidatePort: Number(candidate.port),
  });
  expect(checks[0]?.ok).toBe(true);
  expect(checks[0]?.figures?.runs).toBe(2);
  expect(checks[0]?.figures).not.toHaveProperty("slowdownRechecked");
});
