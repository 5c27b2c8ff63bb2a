import { isDeepStrictEqual } from "node:util";
import { GENERATED_TOOLS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { FitnessCheck } from "../git/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, type ToolExample } from "../generated-tools/tool-metadata.ts";
import { readHealth } from "./instance-health.ts";
import { committedCode, readScenarioPass, recordScenarioPass, type ScenarioPassed, type ScenarioSide, toolScenarioKey } from "./tool-scenario-records.ts";

/** The name a tool's own scenario goes by in reports and the baseline. */
export const toolScenarioName = (tool: string) => `tool ${tool}`;

/** A tool at a commit: its spec examples (none when its metadata does not parse) and its files' blob ids. */
type ToolAt = { examples: ToolExample[]; files: Record<string, string> };

/** Every tool's spec examples and files at a commit (metadata.json read with git; a tool whose metadata does not parse has no examples). */
async function toolsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, ToolAt>> {
  const out = await git.run(["ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options", commit, "--", `${GENERATED_TOOLS_DIR}/`], { signal });
  const found = new Map<string, ToolAt>();
  const files = new Map<string, Record<string, string>>();
  for (const row of out.split("\0").filter(Boolean)) {
    const [info = "", path = ""] = row.split("\t");
    const [mode, type, blob = "", size = ""] = info.split(/\s+/);
    const [, , name = "", file = "", ...rest] = path.split("/");
    if (!TOOL_NAME_PATTERN.test(name)) continue;
    const own = files.get(name) ?? {};
    files.set(name, { ...own, [[file, ...rest].join("/")]: `${mode} ${blob}` });
    if (file !== "metadata.json" || rest.length > 0 || mode !== "100644" || type !== "blob") continue;
    if (Number(size) > MAX_METADATA_BYTES) continue;
    try {
      found.set(name, { examples: parseToolMetadata(await git.run(["cat-file", "blob", blob], { signal }), path).spec.examples, files: {} });
    } catch {
      // The tools stage has already refused a candidate whose metadata does not parse; main's is trusted.
    }
  }
  for (const [name, tool] of found) tool.files = files.get(name) ?? {};
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
    return { ok: false, problem: `answered ${JSON.stringify(body.output).slice(0, 120)}, the example says ${JSON.stringify(example.output).slice(0, 120)}` };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** A tool's examples on the candidate, and on current too when main has the tool: both instances at once, as nothing is timed. */
async function runExamples(
  tool: string,
  examples: ToolExample[],
  onCurrent: boolean,
  request: { candidatePort: number; currentPort: number; token?: string; timeoutMs: number; signal?: AbortSignal },
) {
  let currentPasses = 0;
  let candidatePasses = 0;
  let currentProblem: string | undefined;
  let candidateProblem: string | undefined;
  // A miss is tried once more on its own: on a busy machine a tool's run can pass its time limit on one side only,
  // and a verdict should not turn on that. A tool that really misses misses twice.
  const attempt = async (port: number, example: ToolExample) => {
    const first = await runExample(port, tool, example, request, request.signal);
    return first.ok || request.signal?.aborted ? first : runExample(port, tool, example, request, request.signal);
  };
  for (const example of examples) {
    const [candidate, current] = await Promise.all([attempt(request.candidatePort, example), onCurrent ? attempt(request.currentPort, example) : undefined]);
    if (candidate.ok) candidatePasses += 1;
    else candidateProblem ??= candidate.problem;
    if (current?.ok) currentPasses += 1;
    else if (current) currentProblem ??= current.problem;
  }
  return { candidatePasses, currentPasses, candidateProblem, currentProblem };
}

/** One tool's scenario: its examples on the candidate, and on current too when main has the tool. */
async function toolScenario(
  tool: string,
  examples: ToolExample[],
  where: { onMain: boolean; served: boolean },
  request: { candidatePort: number; currentPort: number; token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<FitnessCheck> {
  const started = performance.now();
  if (!where.served) {
    return {
      stage: "scenarios",
      name: toolScenarioName(tool),
      ok: true,
      reason: "main got this tool after the candidate was built, so its instance does not serve it; the tools stage judged it on today's main",
      figures: { examples: examples.length, skipped: true },
      durationMs: 0,
    };
  }
  const { candidatePasses, currentPasses, candidateProblem, currentProblem } = await runExamples(tool, examples, where.onMain, request);
  const hint = [candidateProblem, currentProblem].some((problem) => problem?.startsWith("HTTP 403"))
    ? `; to compare, start both instances with "serve": { "generatedTools": "allow" } in their config`
    : "";
  const ok = candidatePasses >= currentPasses;
  const reason = !where.onMain
    ? `new tool: the candidate passes ${candidatePasses} of its ${examples.length} example(s)${candidateProblem ? ` (first miss: ${candidateProblem})` : ""}`
    : ok
      ? `main's ${examples.length} example(s): candidate passes ${candidatePasses}, current ${currentPasses}${currentProblem ? ` (current: ${currentProblem})` : ""}`
      : `main's ${examples.length} example(s): the candidate passes ${candidatePasses}, fewer than current's ${currentPasses} (${candidateProblem})`;
  return {
    stage: "scenarios",
    name: toolScenarioName(tool),
    ok,
    reason: `${reason.length > 400 ? `${reason.slice(0, 399)}…` : reason}${hint}`,
    figures: { examples: examples.length, candidatePasses, currentPasses },
    durationMs: performance.now() - started,
  };
}

/** How a gate keeps and takes records of the tool scenarios that passed: its checkout, its own code's identity, `--revalidate`. */
export type ScenarioRecords = { repoDir: string; gate: string; revalidate: boolean };

/** Both instances as a record's key tells them (the tools keyed by name), or undefined when one cannot be told: then every scenario runs. */
type Sides = { current: Omit<ScenarioSide, "files">; candidate: Omit<ScenarioSide, "files">; currentTools: Map<string, ToolAt> };

async function scenarioSides(
  git: RepoGit,
  request: { main: string; commit: string; candidatePort: number; currentPort: number; signal?: AbortSignal },
  onMain: Map<string, ToolAt>,
): Promise<Sides | undefined> {
  const { signal } = request;
  try {
    const [current, candidate] = await Promise.all([readHealth(request.currentPort, { signal }), readHealth(request.candidatePort, { signal })]);
    if (!current.settings || !candidate.settings || current.version === undefined || candidate.version === undefined) return undefined;
    if (candidate.commit !== request.commit || !(await git.resolveCommit(current.commit))) return undefined;
    const [currentCode, candidateCode] = await Promise.all([committedCode(git, current.commit, signal), committedCode(git, candidate.commit, signal)]);
    return {
      current: { code: currentCode, version: current.version, settings: current.settings },
      candidate: { code: candidateCode, version: candidate.version, settings: candidate.settings },
      currentTools: current.commit === request.main ? onMain : await toolsAt(git, current.commit, signal),
    };
  } catch {
    return undefined;
  }
}

/** A tool's scenario as a record of this gate stands for it. */
function recordedScenario(tool: string, pass: ScenarioPassed, started: number): FitnessCheck {
  return {
    stage: "scenarios",
    name: toolScenarioName(tool),
    ok: true,
    reason: `recorded: main's ${pass.examples} example(s) passed here at ${pass.passedAt} with these files, this code and these instances' settings (candidate ${pass.candidatePasses}, current ${pass.currentPasses}; record ${pass.key.slice(0, 12)}; --revalidate runs them)`,
    figures: { examples: pass.examples, candidatePasses: pass.candidatePasses, currentPasses: pass.currentPasses, recorded: true },
    durationMs: performance.now() - started,
  };
}

/**
 * Each generated tool's own scenario: its spec examples run through `POST /v1/tools/<name>/run` on both instances
 * (no model involved, so the verdict is deterministic). A tool main has is run with main's examples on both, so an
 * unchanged tool broken by a changed runner is caught; a new tool with the candidate's examples on the candidate.
 * The candidate may not pass fewer examples of a tool than current. Returns the checks, the candidate's passes,
 * and the scenarios it could not run (main's tools its instance, built on an older main, does not serve).
 *
 * With `records`, a scenario of main's tool that passed is recorded, signed (`tool-scenario-records.ts`), and stands
 * for the next run of exactly the same inputs: the same gate code, examples and time limit, and on each side the same
 * code, the same files of that tool and the same settings (`/health`). So a gate runs the examples of the tools a
 * candidate adds or changes, and of every tool again when the code or an instance's settings change.
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
  const sides = records && tools.some(([tool]) => onMain.has(tool) && served.has(tool)) ? await scenarioSides(git, request, onMain) : undefined;
  /** The record key of a tool main has and the candidate serves, when both instances can be told. */
  const keyOf = (tool: string): string | undefined => {
    const current = sides?.currentTools.get(tool)?.files;
    const candidate = served.get(tool)?.files;
    const examples = onMain.get(tool)?.examples;
    if (!records || !sides || !current || !candidate || !examples) return undefined;
    return toolScenarioKey({
      gate: records.gate,
      tool,
      examples,
      timeoutMs: request.timeoutMs,
      current: { ...sides.current, files: current },
      candidate: { ...sides.candidate, files: candidate },
    });
  };
  const checks: FitnessCheck[] = [];
  const passes: Record<string, number> = {};
  const skipped: string[] = [];
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
      const started = performance.now();
      const key = keyOf(tool);
      const recorded = key && records && !records.revalidate ? readScenarioPass(records.repoDir, key, tool) : undefined;
      const examples = onMain.get(tool)?.examples ?? candidateExamples;
      const check = recorded
        ? recordedScenario(tool, recorded, started)
        : await toolScenario(tool, examples, { onMain: onMain.has(tool), served: served.has(tool) }, request);
      if (!recorded && check.ok && key && records) {
        const { candidatePasses, currentPasses } = check.figures ?? {};
        if (typeof candidatePasses === "number" && typeof currentPasses === "number")
          recordScenarioPass(records.repoDir, key, { tool, examples: examples.length, candidatePasses, currentPasses });
      }
      results[index] = check;
      if (!check.ok) failed = true;
    }
  };
  await Promise.all([worker(), worker()]);
  for (const check of results) {
    if (check === undefined) break;
    checks.push(check);
    if (check.figures?.skipped === true) skipped.push(check.name);
    else if (typeof check.figures?.candidatePasses === "number") passes[check.name] = check.figures.candidatePasses;
    if (!check.ok) break;
  }
  return { checks, passes, skipped };
}
