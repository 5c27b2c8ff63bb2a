import { isDeepStrictEqual } from "node:util";
import { GENERATED_TOOLS_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { FitnessCheck } from "../git/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, type ToolExample } from "../generated-tools/tool-metadata.ts";

/** The name a tool's own scenario goes by in reports and the baseline. */
export const toolScenarioName = (tool: string) => `tool ${tool}`;

/** Every tool's spec examples at a commit (metadata.json read with git; a tool whose metadata does not parse has none). */
async function examplesAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, ToolExample[]>> {
  const out = await git.run(["ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options", commit, "--", `${GENERATED_TOOLS_DIR}/`], { signal });
  const found = new Map<string, ToolExample[]>();
  for (const row of out.split("\0").filter(Boolean)) {
    const [info = "", path = ""] = row.split("\t");
    const [mode, type, blob = "", size = ""] = info.split(/\s+/);
    const [, , name = "", file = "", ...rest] = path.split("/");
    if (file !== "metadata.json" || rest.length > 0 || !TOOL_NAME_PATTERN.test(name) || mode !== "100644" || type !== "blob") continue;
    if (Number(size) > MAX_METADATA_BYTES) continue;
    try {
      found.set(name, parseToolMetadata(await git.run(["cat-file", "blob", blob], { signal }), path).spec.examples);
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

/**
 * Each generated tool's own scenario: its spec examples run through `POST /v1/tools/<name>/run` on both instances
 * (no model involved, so the verdict is deterministic). A tool main has is run with main's examples on both, so an
 * unchanged tool broken by a changed runner is caught; a new tool with the candidate's examples on the candidate.
 * The candidate may not pass fewer examples of a tool than current. Returns the checks, the candidate's passes,
 * and the scenarios it could not run (main's tools its instance, built on an older main, does not serve).
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
    signal?: AbortSignal;
  },
): Promise<ToolScenarios> {
  const { signal } = request;
  const onMain = await examplesAt(git, request.main, signal);
  const onCandidate = await examplesAt(git, request.judged, signal);
  // What the candidate's instance serves: its own commit's tools (a stale one lacks main's newer tools).
  const served = request.commit === request.judged ? onCandidate : await examplesAt(git, request.commit, signal);
  const checks: FitnessCheck[] = [];
  const passes: Record<string, number> = {};
  const skipped: string[] = [];
  const tools = [...onCandidate].sort(([a], [b]) => a.localeCompare(b));
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
      const [tool, candidateExamples] = entry;
      const check = await toolScenario(tool, onMain.get(tool) ?? candidateExamples, { onMain: onMain.has(tool), served: served.has(tool) }, request);
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
