import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { FitnessCheck } from "./fitness-report.ts";
import { OrgError } from "../errors/org-error.ts";

/** `fitness/scenarios/<name>.json` in current's checkout: one message sent to both instances, and what must come back. */
export const Scenario = z.strictObject({
  name: z.string().min(1).max(100),
  request: z.strictObject({ text: z.string().min(1).max(10_000), mode: z.string().max(100).optional() }),
  expect: z.strictObject({
    /** Event types that must appear, in this order (others may come between). */
    events: z.array(z.string()).default([]),
    /** Strings that must appear somewhere in the events' JSON. */
    includes: z.array(z.string()).default([]),
    /** Event types that must not appear (e.g. `error`). */
    excludes: z.array(z.string()).default(["error"]),
  }),
});
export type Scenario = z.infer<typeof Scenario>;

/** How scenarios are run and judged; the margin is `ratio` and `ms` over current's median, both allowed. */
export type ScenarioSettings = { dir: string; runs: number; marginRatio: number; marginMs: number; token?: string; timeoutMs: number };

/** A scenario file that is not valid; the gate cannot judge with it. */
export class ScenarioFileError extends OrgError {
  override name = "ScenarioFileError";
}

/** The scenarios of a folder, sorted by file name; each validated. */
export function loadScenarios(dir: string): Scenario[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => {
      try {
        return Scenario.parse(JSON.parse(readFileSync(join(dir, name), "utf8")));
      } catch (error) {
        throw new ScenarioFileError(`${join(dir, name)} is not a scenario (${error instanceof Error ? error.message.split("\n")[0] : error})`);
      }
    });
}

type RunResult = { ok: boolean; ms: number; problem?: string };

/** Sends a scenario's message to an instance and reads its event stream to the end; times the whole turn. */
async function runOnce(port: number, scenario: Scenario, settings: ScenarioSettings, signal?: AbortSignal): Promise<RunResult> {
  const started = performance.now();
  let text: string;
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}) },
      body: JSON.stringify(scenario.request),
      signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), ...(signal ? [signal] : [])]),
    });
    text = (await response.text()).slice(0, 2_000_000);
    if (response.status !== 200) return { ok: false, ms: performance.now() - started, problem: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, ms: performance.now() - started, problem: error instanceof Error ? error.message : String(error) };
  }
  const ms = performance.now() - started;
  const events: { type?: unknown }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: ")) continue;
    try {
      events.push(JSON.parse(line.slice(6)));
    } catch {
      return { ok: false, ms, problem: "an event is not JSON" };
    }
  }
  const types = events.map((event) => String(event.type));
  let at = 0;
  for (const wanted of scenario.expect.events) {
    const found = types.indexOf(wanted, at);
    if (found < 0) return { ok: false, ms, problem: `no ${wanted} event${at > 0 ? " after the earlier ones" : ""}` };
    at = found + 1;
  }
  const unwanted = scenario.expect.excludes.find((type) => types.includes(type));
  if (unwanted) return { ok: false, ms, problem: `a ${unwanted} event came` };
  const missing = scenario.expect.includes.find((needle) => !text.includes(needle));
  if (missing !== undefined) return { ok: false, ms, problem: `the events never say ${JSON.stringify(missing)}` };
  return { ok: true, ms };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
};

/** How many runs on each instance a slowdown must hold over before it refuses the candidate. */
export const CONFIRM_RUNS = 5;

/**
 * One scenario on both instances, run in pairs: whether each met what it expects, and the check (a miss current does
 * not share, or a slowdown past the margin, fails it; a slowdown seen in few runs is run again before it counts).
 */
async function judgeScenario(
  scenario: Scenario,
  request: ScenarioSettings & { candidatePort: number; currentPort: number; signal?: AbortSignal },
): Promise<{ check: FitnessCheck; currentOk: boolean; candidateOk: boolean }> {
  const started = performance.now();
  const current: RunResult[] = [];
  const candidate: RunResult[] = [];
  const runPairs = async (pairs: number) => {
    for (let run = 0; run < pairs; run += 1) {
      current.push(await runOnce(request.currentPort, scenario, request, request.signal));
      candidate.push(await runOnce(request.candidatePort, scenario, request, request.signal));
    }
  };
  const timesOf = () => {
    const currentMs = Math.round(median(current.map((result) => result.ms)));
    const candidateMs = Math.round(median(candidate.map((result) => result.ms)));
    return { currentMs, candidateMs, limitMs: Math.round(currentMs * (1 + request.marginRatio) + request.marginMs) };
  };
  const allOk = (results: RunResult[]) => results.every((result) => result.ok);
  await runPairs(request.runs);
  // A slowdown seen in few runs may be a moment of load on a busy machine: more pairs, then the medians of all decide.
  const first = timesOf();
  const confirming = allOk(current) && allOk(candidate) && first.candidateMs > first.limitMs && current.length < CONFIRM_RUNS;
  if (confirming) await runPairs(CONFIRM_RUNS - current.length);
  const currentOk = allOk(current);
  const candidateOk = allOk(candidate);
  const { currentMs, candidateMs, limitMs } = timesOf();
  const figures = {
    currentMs,
    candidateMs,
    limitMs,
    runs: current.length,
    currentOk,
    candidateOk,
    ...(confirming ? { slowdownRechecked: true } : {}),
  };
  const failure = candidate.find((result) => !result.ok)?.problem;
  let ok = true;
  let reason = `as expected on both; ${candidateMs} ms vs ${currentMs} ms (limit ${limitMs} ms)`;
  if (!candidateOk && currentOk) {
    ok = false;
    reason = `the candidate misses what the scenario expects (${failure}); current meets it`;
  } else if (!candidateOk) {
    reason = `fails on both (current: ${current.find((result) => !result.ok)?.problem}); not held against the candidate`;
  } else if (currentOk && candidateMs > limitMs) {
    ok = false;
    reason =
      `the candidate takes ${candidateMs} ms, current ${currentMs} ms: over the limit of ${limitMs} ms ` +
      `(+${Math.round(request.marginRatio * 100)} % and +${request.marginMs} ms)`;
  }
  const check: FitnessCheck = { stage: "scenarios", name: `scenario ${scenario.name}`, ok, reason, figures, durationMs: performance.now() - started };
  return { check, currentOk, candidateOk };
}

/**
 * Stage d: every scenario, `runs` times on each instance (alternating, so both see the same machine load).
 * A scenario fails when the candidate's outcome misses what it expects while current's meets it, or when the
 * candidate's median time exceeds current's by more than the margin; such a slowdown is looked at again over
 * `CONFIRM_RUNS` runs a side, and only the medians of them all refuse. Overall, current's pass count must not drop.
 */
export async function checkScenarios(
  request: ScenarioSettings & { candidatePort: number; currentPort: number; signal?: AbortSignal },
): Promise<FitnessCheck[]> {
  const scenarios = loadScenarios(request.dir);
  if (scenarios.length === 0) {
    return [
      {
        stage: "scenarios",
        name: "scenarios",
        ok: true,
        reason: "no scenarios in current's fitness/scenarios/",
        figures: { scenarios: 0 },
        durationMs: 0,
      },
    ];
  }
  const checks: FitnessCheck[] = [];
  let currentPasses = 0;
  let candidatePasses = 0;
  for (const scenario of scenarios) {
    const judged = await judgeScenario(scenario, request);
    if (judged.currentOk) currentPasses += 1;
    if (judged.candidateOk) candidatePasses += 1;
    checks.push(judged.check);
    if (!judged.check.ok) return checks;
  }
  const countOk = candidatePasses >= currentPasses;
  checks.push({
    stage: "scenarios",
    name: "pass count",
    ok: countOk,
    reason: `candidate passes ${candidatePasses}, current ${currentPasses} of ${scenarios.length}`,
    figures: { candidatePasses, currentPasses, scenarios: scenarios.length },
    durationMs: 0,
  });
  return checks;
}
