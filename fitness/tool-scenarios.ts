import { isDeepStrictEqual } from "node:util";
import { GENERATED_TOOLS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { TOOL_SCENARIO_PREFIX } from "./fitness-baseline.ts";
import type { FitnessCheck } from "./fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, type ToolExample } from "../generated-tools/tool-metadata.ts";
import { readHealth } from "./instance-health.ts";
import {
  committedCode,
  type ExamplesPassed,
  type InstanceSide,
  readExamplesPass,
  recordExamplesPass,
  toolExamplesKey,
} from "./tool-scenario-records.ts";

/** The name a tool's own scenario goes by in reports and the baseline. */
export const toolScenarioName = (tool: string) => `${TOOL_SCENARIO_PREFIX}${tool}`;

/** A tool at a commit: its spec examples (none when its metadata does not parse) and its files' blob ids. */
type ToolAt = { examples: ToolExample[]; files: Record<string, string> };

/** Every tool's spec examples and files at a commit (metadata.json read with git; a tool whose metadata does not parse has no examples). */
async function toolsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, ToolAt>> {
  const entries = await git.treeEntries(commit, { recursive: true, sizes: true, paths: [`${GENERATED_TOOLS_DIR}/`], signal });
  const found = new Map<string, ToolAt>();
  const files = new Map<string, Record<string, string>>();
  const metadata: { name: string; blob: string; path: string }[] = [];
  for (const { mode, type, id: blob, size, path } of entries) {
    const [, , name = "", file = "", ...rest] = path.split("/");
    if (!TOOL_NAME_PATTERN.test(name)) continue;
    const own = files.get(name) ?? {};
    files.set(name, { ...own, [[file, ...rest].join("/")]: `${mode} ${blob}` });
    if (file !== "metadata.json" || rest.length > 0 || mode !== "100644" || type !== "blob") continue;
    if ((size ?? 0) > MAX_METADATA_BYTES) continue;
    metadata.push({ name, blob, path });
  }
  // Every tool's metadata.json with one git process.
  const blobs = await git.readBlobs(
    metadata.map((entry) => entry.blob),
    { ...(signal ? { signal } : {}) },
  );
  for (const { name, blob, path } of metadata) {
    try {
      found.set(name, { examples: parseToolMetadata(blobs.get(blob)?.toString("utf8") ?? "", path).spec.examples, files: files.get(name) ?? {} });
    } catch {
      // The tools stage has already refused a candidate whose metadata does not parse; main's is trusted.
    }
  }
  return found;
}

type Outcome = { ok: boolean; problem?: string };

/** What each tool's own scenario found: its checks, the candidate's passes, the scenarios it could not run. */
export type ToolScenarios = { checks: FitnessCheck[]; passes: Record<string, number>; skipped: string[] };

/** One example through `POST /v1/tools/<name>/run` of an instance: ok when the tool answers exactly the example's output. */
async function runExample(
  port: number,
  tool: string,
  example: ToolExample,
  settings: { token?: string; timeoutMs: number },
  signal?: AbortSignal,
): Promise<Outcome> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/tools/${tool}/run`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}) },
      body: JSON.stringify({ inputs: example.input }),
      signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), ...(signal ? [signal] : [])]),
    });
    const text = (await response.text()).slice(0, 1_000_000);
    if (response.status !== 200) return { ok: false, problem: `HTTP ${response.status}: ${text.slice(0, 160)}` };
    const body = JSON.parse(text) as { ok?: unknown; output?: unknown; data?: unknown };
    if (body.ok !== true) return { ok: false, problem: `the tool failed: ${String(body.output).slice(0, 160)}` };
    let output: unknown = body.output;
    if (typeof output === "string") {
      try {
        output = JSON.parse(output);
      } catch {}
    }
    if (isDeepStrictEqual(output, example.output) || isDeepStrictEqual(body.data, example.output)) return { ok: true };
    return {
      ok: false,
      problem: `answered ${JSON.stringify(body.output).slice(0, 120)}, the example says ${JSON.stringify(example.output).slice(0, 120)}`,
    };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Which instance: the candidate judged, or current (main's checkout). */
type SideName = "candidate" | "current";

/** What the examples gave on one instance: its passes and first miss, or the record that stands for them all passing. */
type SideOutcome = { passes: number; problem?: string; recorded?: ExamplesPassed };

/**
 * A tool's examples on the candidate, and on current too when main has the tool: both instances at once, as nothing is
 * timed. A side that a record stands for (`recorded`) does not run: every example passed there.
 */
async function runExamples(
  tool: string,
  examples: ToolExample[],
  onCurrent: boolean,
  recorded: Partial<Record<SideName, ExamplesPassed>>,
  request: { candidatePort: number; currentPort: number; token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Record<SideName, SideOutcome>> {
  const outcome: Record<SideName, SideOutcome> = {
    candidate: recorded.candidate ? { passes: examples.length, recorded: recorded.candidate } : { passes: 0 },
    current: onCurrent && recorded.current ? { passes: examples.length, recorded: recorded.current } : { passes: 0 },
  };
  const ports: [SideName, number][] = [];
  if (!recorded.candidate) ports.push(["candidate", request.candidatePort]);
  if (onCurrent && !recorded.current) ports.push(["current", request.currentPort]);
  // A miss is tried once more on its own: on a busy machine a tool's run can pass its time limit on one side only,
  // and a verdict should not turn on that. A tool that really misses misses twice.
  const attempt = async (port: number, example: ToolExample) => {
    const first = await runExample(port, tool, example, request, request.signal);
    return first.ok || request.signal?.aborted ? first : runExample(port, tool, example, request, request.signal);
  };
  for (const example of examples) {
    const results = await Promise.all(ports.map(([, port]) => attempt(port, example)));
    ports.forEach(([side], index) => {
      const result = results[index];
      if (result?.ok) outcome[side].passes += 1;
      else outcome[side].problem ??= result?.problem;
    });
  }
  return outcome;
}

/** One tool's scenario: its examples on the candidate, and on current too when main has the tool; a side a record stands for is not run. */
async function toolScenario(
  tool: string,
  examples: ToolExample[],
  where: { onMain: boolean; served: boolean },
  recorded: Partial<Record<SideName, ExamplesPassed>>,
  request: { candidatePort: number; currentPort: number; token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<{ check: FitnessCheck; ran: Partial<Record<SideName, SideOutcome>> }> {
  const started = performance.now();
  if (!where.served) {
    const check: FitnessCheck = {
      stage: "scenarios",
      name: toolScenarioName(tool),
      ok: true,
      reason: "main got this tool after the candidate was built, so its instance does not serve it; the tools stage judged it on today's main",
      figures: { examples: examples.length, skipped: true },
      durationMs: 0,
    };
    return { check, ran: {} };
  }
  const sides = await runExamples(tool, examples, where.onMain, recorded, request);
  const { passes: candidatePasses, problem: candidateProblem } = sides.candidate;
  const { passes: currentPasses, problem: currentProblem } = sides.current;
  const hint = [candidateProblem, currentProblem].some((problem) => problem?.startsWith("HTTP 403"))
    ? `; to compare, start both instances with "serve": { "generatedTools": "allow" } in their config`
    : "";
  const fromRecords = (["candidate", "current"] as const).filter((side) => sides[side].recorded && (side === "candidate" || where.onMain));
  const recordedNote =
    fromRecords.length > 0
      ? `; every example passed on ${fromRecords.join(" and ")} as recorded with these files, this code and these settings (record ${fromRecords
          .map((side) => sides[side].recorded?.key.slice(0, 12))
          .join(", ")}; --revalidate runs them)`
      : "";
  const ok = candidatePasses >= currentPasses;
  const reason = !where.onMain
    ? `new tool: the candidate passes ${candidatePasses} of its ${examples.length} ` +
      `example(s)${candidateProblem ? ` (first miss: ${candidateProblem})` : ""}`
    : ok
      ? `main's ${examples.length} example(s): candidate passes ${candidatePasses}, current ` +
        `${currentPasses}${currentProblem ? ` (current: ${currentProblem})` : ""}`
      : `main's ${examples.length} example(s): the candidate passes ${candidatePasses}, fewer than current's ${currentPasses} (${candidateProblem})`;
  const check: FitnessCheck = {
    stage: "scenarios",
    name: toolScenarioName(tool),
    ok,
    reason: `${reason.length > 400 ? `${reason.slice(0, 399)}…` : reason}${recordedNote}${hint}`,
    figures: { examples: examples.length, candidatePasses, currentPasses, ...(fromRecords.length > 0 ? { recorded: fromRecords } : {}) },
    durationMs: performance.now() - started,
  };
  const ran: Partial<Record<SideName, SideOutcome>> = {};
  if (!sides.candidate.recorded) ran.candidate = sides.candidate;
  if (where.onMain && !sides.current.recorded) ran.current = sides.current;
  return { check, ran };
}

/** How a gate keeps and takes records of a tool's examples passing on an instance: its checkout, its own code's identity, `--revalidate`. */
export type ScenarioRecords = { repoDir: string; gate: string; revalidate: boolean };

/** An instance as a record's key tells it, with its tools by name; undefined when it cannot be told (then its examples always run). */
type Side = InstanceSide & { tools: Map<string, ToolAt> };

async function instanceSide(
  git: RepoGit,
  port: number,
  commit: string | undefined,
  tools: (commit: string) => Promise<Map<string, ToolAt>>,
  signal?: AbortSignal,
) {
  try {
    const health = await readHealth(port, { signal });
    if (!health.settings || health.version === undefined || (commit !== undefined && health.commit !== commit)) return undefined;
    if (!(await git.resolveCommit(health.commit))) return undefined;
    const side: Side = {
      code: await committedCode(git, health.commit, signal),
      version: health.version,
      settings: health.settings,
      tools: await tools(health.commit),
    };
    return side;
  } catch {
    return undefined;
  }
}

/** The records that stand for `tool`'s examples on each instance, and the keys to record new passes under. */
function examplesRecords(
  tool: string,
  examples: ToolExample[],
  sides: Record<SideName, Awaited<ReturnType<typeof instanceSide>> | undefined>,
  records: ScenarioRecords | undefined,
  timeoutMs: number,
): { keys: Partial<Record<SideName, string>>; found: Partial<Record<SideName, ExamplesPassed>> } {
  const keys: Partial<Record<SideName, string>> = {};
  const found: Partial<Record<SideName, ExamplesPassed>> = {};
  for (const name of ["candidate", "current"] as const) {
    const side = sides[name];
    const files = side?.tools.get(tool)?.files;
    if (!records || !side || !files) continue;
    const { tools: _tools, ...instance } = side;
    const key = toolExamplesKey({ gate: records.gate, tool, examples, timeoutMs, instance, files });
    keys[name] = key;
    const recorded = records.revalidate ? undefined : readExamplesPass(records.repoDir, key, tool, examples.length);
    if (recorded) found[name] = recorded;
  }
  return { keys, found };
}

/**
 * Each generated tool's own scenario: its spec examples run through `POST /v1/tools/<name>/run` on both instances
 * (no model involved, so the verdict is deterministic). A tool main has is run with main's examples on both, so an
 * unchanged tool broken by a changed runner is caught; a new tool with the candidate's examples on the candidate.
 * The candidate may not pass fewer examples of a tool than current. Returns the checks, the candidate's passes,
 * and the scenarios it could not run (main's tools its instance, built on an older main, does not serve).
 *
 * With `records`, a tool whose every example passed on an instance is recorded, signed (`tool-scenario-records.ts`),
 * and that stands for the next run of exactly the same inputs on either instance: the same gate code, examples and
 * time limit, the same code and settings of the instance, the same files of that tool. So a gate runs the examples of
 * the tools a candidate adds or changes, on the candidate, and all of them again when code or settings change.
 */
export async function checkToolScenarios(
  git: RepoGit,
  request: {
    main: string;
    judged: string;
    commit: string;
    candidatePort: number;
    currentPort: number;
    token?: string;
    timeoutMs: number;
    records?: ScenarioRecords;
    signal?: AbortSignal;
  },
): Promise<ToolScenarios> {
  const { signal, records } = request;
  const onMain = await toolsAt(git, request.main, signal);
  const onCandidate = await toolsAt(git, request.judged, signal);
  // What the candidate's instance serves: its own commit's tools (a stale one lacks main's newer tools).
  const served = request.commit === request.judged ? onCandidate : await toolsAt(git, request.commit, signal);
  const tools = [...onCandidate].sort(([a], [b]) => a.localeCompare(b));
  const [candidateSide, currentSide] = records
    ? await Promise.all([
        instanceSide(git, request.candidatePort, request.commit, async () => served, signal),
        instanceSide(
          git,
          request.currentPort,
          undefined,
          async (commit) => (commit === request.main ? onMain : toolsAt(git, commit, signal)),
          signal,
        ),
      ])
    : [undefined, undefined];
  const sides = { candidate: candidateSide, current: currentSide };
  // Two tools at a time (each on both instances at once); a tool that fails stops the ones not yet started, and
  // the checks are those of one tool after another, cut at the first failure.
  const results: (FitnessCheck | undefined)[] = new Array(tools.length).fill(undefined);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < tools.length) {
      const index = next++;
      const entry = tools[index];
      if (entry === undefined) return;
      const [tool, { examples: candidateExamples }] = entry;
      const examples = onMain.get(tool)?.examples ?? candidateExamples;
      const { keys, found } = examplesRecords(tool, examples, sides, records, request.timeoutMs);
      const { check, ran } = await toolScenario(tool, examples, { onMain: onMain.has(tool), served: served.has(tool) }, found, request);
      // A side whose every example passed is recorded; a miss never is, so a verdict never stands on one.
      for (const side of ["candidate", "current"] as const) {
        const key = keys[side];
        if (records && key && ran[side]?.passes === examples.length && !signal?.aborted)
          recordExamplesPass(records.repoDir, key, tool, examples.length);
      }
      results[index] = check;
      if (!check.ok) failed = true;
    }
  };
  await Promise.all([worker(), worker()]);
  return inOrder(results);
}

/** The checks of one tool after another, cut at the first failure, with each tool's passes and the tools skipped. */
function inOrder(results: readonly (FitnessCheck | undefined)[]): ToolScenarios {
  const checks: FitnessCheck[] = [];
  const passes: Record<string, number> = {};
  const skipped: string[] = [];
  for (const check of results) {
    if (check === undefined) break;
    checks.push(check);
    if (check.figures?.skipped === true) skipped.push(check.name);
    else if (typeof check.figures?.candidatePasses === "number") passes[check.name] = check.figures.candidatePasses;
    if (!check.ok) break;
  }
  return { checks, passes, skipped };
}
