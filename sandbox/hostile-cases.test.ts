import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rm } from "node:fs/promises";
import { HOSTILE_CASES, runHostileCase } from "../testing/hostile-cases.ts";
import { createHostileEnvironment, type HostileEnvironment } from "../testing/hostile-environment.ts";
import type { SandboxResult } from "./sandbox-result.ts";

// These cases are hostile on purpose. runHostileCase never passes a policy (the default one sandboxes), and
// sandbox/ reads no environment, so ORG_SANDBOX=off cannot send them to this machine unsandboxed.

// Two cores, other suites running too: a few cases at a time.
const CONCURRENCY = 3;

function limiter(concurrency: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

const isRoot = process.getuid?.() === 0;
const runnable = HOSTILE_CASES.filter((hostileCase) => isRoot || hostileCase.rootOnly === undefined);
let env: HostileEnvironment | undefined;
const outcomes = new Map<string, Promise<{ problem: string | undefined; result: SandboxResult }>>();

beforeAll(async () => {
  const environment = await createHostileEnvironment();
  env = environment;
  // Start every case now, a few at a time; each test below awaits its own outcome.
  const limit = limiter(CONCURRENCY);
  const firstRound: Promise<unknown>[] = [];
  // A case that ran out of its time on a busy machine did not finish, which says nothing of the sandbox: it runs
  // once more, alone, once the first round is over, and that run decides.
  const again = limiter(1);
  for (const hostileCase of runnable) {
    const first = limit(() => runHostileCase(hostileCase, environment));
    firstRound.push(first.catch(() => {}));
    const outcome = first.then(async (ran) => {
      if (ran.problem === undefined || !ran.result.timedOut) return ran;
      await Promise.allSettled(firstRound);
      // From an empty scratch: what the first run left (FIFOs, folders, files) would fail the second on its own.
      return again(async () => {
        await rm(environment.scratchFor(hostileCase.name), { recursive: true, force: true });
        return runHostileCase(hostileCase, environment);
      });
    });
    outcome.catch(() => {});
    outcomes.set(hostileCase.name, outcome);
  }
});

// Removing what the cases left (files of tens of MiB, thousands of entries) takes seconds on a busy disk.
afterAll(async () => {
  await Promise.allSettled(outcomes.values());
  await env?.close();
}, 60_000);

test("the table holds at least 84 cases with unique names across every category", () => {
  expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(84);
  expect(new Set(HOSTILE_CASES.map((hostileCase) => hostileCase.name)).size).toBe(HOSTILE_CASES.length);
  expect(new Set(HOSTILE_CASES.map((hostileCase) => hostileCase.category))).toEqual(
    new Set(["network", "filesystem", "resources", "identity", "secrets"]),
  );
});

for (const hostileCase of HOSTILE_CASES) {
  describe(hostileCase.category, () => {
    test.skipIf(!runnable.includes(hostileCase))(
      `contained: ${hostileCase.name}`,
      async () => {
        const outcome = outcomes.get(hostileCase.name);
        if (!outcome) throw new Error("the case was not started");
        const { problem, result } = await outcome;
        if (problem !== undefined) console.error(hostileCase.name, JSON.stringify(result).slice(0, 2000));
        expect(problem).toBeUndefined();
      },
      120_000,
    );
  });
}
