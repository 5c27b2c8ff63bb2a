import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { isWorkflowFilePath, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import type { FitnessCheck } from "./fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { workflowsChanged } from "../git/workflow-tree.ts";
import { parseWorkflow, type Workflow, type WorkflowExample } from "../workflows/workflow-file.ts";

/** The name a workflow's own scenario goes by in reports. */
export const workflowScenarioName = (file: string) => `workflow ${file.replace(/\.json$/, "")}`;

// What `POST /v1/workflows/:name/run` answers; anything else is a miss naming what came back.
const RunAnswer = z.union([z.object({ ok: z.literal(true), output: z.unknown() }), z.object({ ok: z.literal(false), error: z.string() })]);

type Outcome = { ok: true } | { ok: false; problem: string };

/** One example through an instance's `POST /v1/workflows/<name>/run`: ok when the workflow answers exactly the example's output. */
async function runExample(port: number, name: string, example: WorkflowExample, settings: Settings): Promise<Outcome> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/workflows/${encodeURIComponent(name)}/run`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(settings.token ? { authorization: `Bearer ${settings.token}` } : {}) },
      body: JSON.stringify({ inputs: example.inputs }),
      signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), ...(settings.signal ? [settings.signal] : [])]),
    });
    const text = (await response.text()).slice(0, 1_000_000);
    if (response.status !== 200) return { ok: false, problem: `HTTP ${response.status}: ${text.slice(0, 160)}` };
    const answer = RunAnswer.safeParse(JSON.parse(text));
    if (!answer.success) return { ok: false, problem: `not a workflow run's answer: ${text.slice(0, 120)}` };
    if (!answer.data.ok) return { ok: false, problem: `the workflow failed: ${answer.data.error.slice(0, 160)}` };
    if (isDeepStrictEqual(answer.data.output, example.output)) return { ok: true };
    return {
      ok: false,
      problem: `answered ${JSON.stringify(answer.data.output).slice(0, 120)}, the example says ${JSON.stringify(example.output).slice(0, 120)}`,
    };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Every workflow file a commit holds, by file name: parsed, or why it does not parse. */
async function workflowsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, Workflow | { problem: string }>> {
  const found = new Map<string, Workflow | { problem: string }>();
  const entries = (await git.treeEntries(commit, { paths: [`${WORKFLOWS_DIR}/`], recursive: true, signal })).filter(
    (entry) => entry.type === "blob" && isWorkflowFilePath(entry.path),
  );
  const blobs = await git.readBlobs(
    entries.map((entry) => entry.id),
    { ...(signal ? { signal } : {}) },
  );
  for (const entry of entries) {
    const file = entry.path.slice(WORKFLOWS_DIR.length + 1);
    try {
      found.set(file, parseWorkflow(blobs.get(entry.id)?.toString("utf8") ?? "", entry.path));
    } catch (error) {
      found.set(file, { problem: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error) });
    }
  }
  return found;
}

const nestedIn = (workflow: Workflow | { problem: string } | undefined): string[] =>
  workflow && "steps" in workflow ? workflow.steps.flatMap((step) => (step.workflow !== undefined ? [step.workflow] : [])) : [];

/** A chain of nested workflows from `file` back to a workflow already on it, as `a.json → b.json → a.json`; none when it ends. */
function cycleFrom(file: string, workflows: ReadonlyMap<string, Workflow | { problem: string }>, path: string[] = []): string | undefined {
  if (path.includes(file)) return [...path.slice(path.indexOf(file)), file].join(" → ");
  for (const next of nestedIn(workflows.get(file))) {
    const found = cycleFrom(next, workflows, [...path, file]);
    if (found) return found;
  }
  return undefined;
}

/** Whether `file` nests one of `changed`, directly or through others. */
function nestsAny(
  file: string,
  changed: ReadonlySet<string>,
  workflows: ReadonlyMap<string, Workflow | { problem: string }>,
  seen = new Set<string>(),
): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  return nestedIn(workflows.get(file)).some((next) => changed.has(next) || nestsAny(next, changed, workflows, seen));
}

/** What each example gave on one instance: how many passed and the first miss. */
async function passesOn(port: number, file: string, examples: readonly WorkflowExample[], settings: Settings) {
  let passes = 0;
  let problem: string | undefined;
  for (const example of examples) {
    // A miss is tried once more, as a tool's is: on a busy machine one side may pass a time limit the other does not.
    let outcome = await runExample(port, file.replace(/\.json$/, ""), example, settings);
    if (!outcome.ok && !settings.signal?.aborted) outcome = await runExample(port, file.replace(/\.json$/, ""), example, settings);
    if (outcome.ok) passes += 1;
    else problem ??= outcome.problem;
  }
  return { passes, ...(problem !== undefined ? { problem } : {}) };
}

type Settings = { token?: string; timeoutMs: number; signal?: AbortSignal };
type Request = Settings & { main: string; base: string; commit: string; candidatePort: number; currentPort: number };

/**
 * Each workflow the candidate adds or changes, judged as a tool is, and each workflow that nests one of them: a
 * changed workflow's own examples (a saved plan's run) must all pass on the candidate instance, and no fewer of main's
 * examples than on current; a workflow nesting a changed one passes no fewer of its examples than on current. A
 * workflow that does not parse, nests itself through others, or brings no example to judge it by, fails.
 */
export async function checkWorkflowScenarios(git: RepoGit, request: Request): Promise<FitnessCheck[]> {
  const changed = await workflowsChanged(git, request.base, request.commit, request.signal);
  if (changed.length === 0) return [];
  const [candidate, main] = await Promise.all([workflowsAt(git, request.commit, request.signal), workflowsAt(git, request.main, request.signal)]);
  const checks: FitnessCheck[] = [];
  for (const file of changed) {
    const mine = candidate.get(file);
    if (mine === undefined) continue;
    checks.push(await changedWorkflowCheck(file, mine, main.get(file), cycleFrom(file, candidate), request));
  }
  const changedSet = new Set(changed);
  for (const [file, workflow] of candidate) {
    if (changedSet.has(file) || !("steps" in workflow) || !nestsAny(file, changedSet, candidate)) continue;
    checks.push(await dependentCheck(file, workflow, request));
  }
  return checks;
}

function checkOf(file: string, started: number, ok: boolean, reason: string, figures: FitnessCheck["figures"] = {}): FitnessCheck {
  return { stage: "scenarios", name: workflowScenarioName(file), ok, reason, figures, durationMs: performance.now() - started };
}

async function changedWorkflowCheck(
  file: string,
  mine: Workflow | { problem: string },
  onMain: Workflow | { problem: string } | undefined,
  cycle: string | undefined,
  request: Request,
): Promise<FitnessCheck> {
  const started = performance.now();
  if (!("steps" in mine)) return checkOf(file, started, false, `workflows/${file} is not a workflow org can run: ${mine.problem}`);
  if (cycle) return checkOf(file, started, false, `workflows/${file} would run itself: a cycle of workflows ${cycle}`);
  const own = mine.examples ?? [];
  const mains = onMain && "steps" in onMain ? (onMain.examples ?? []) : [];
  if (own.length === 0 && mains.length === 0)
    return checkOf(
      file,
      started,
      false,
      `workflows/${file} brings no examples to judge it by; save it with org workflow plan --save, which keeps the run as its example`,
    );
  const ownOnCandidate = await passesOn(request.candidatePort, file, own, request);
  if (ownOnCandidate.passes < own.length)
    return checkOf(
      file,
      started,
      false,
      `the candidate passes ${ownOnCandidate.passes} of the ${own.length} example(s) it brings (first miss: ${ownOnCandidate.problem})`,
      {
        examples: own.length,
        candidatePasses: ownOnCandidate.passes,
      },
    );
  if (onMain === undefined || mains.length === 0)
    return checkOf(
      file,
      started,
      true,
      `${onMain === undefined ? "new workflow" : "changed workflow"}: the candidate passes all ${own.length} of its example(s)`,
      {
        examples: own.length,
        candidatePasses: ownOnCandidate.passes,
      },
    );
  const [theirs, ours] = await Promise.all([
    passesOn(request.currentPort, file, mains, request),
    passesOn(request.candidatePort, file, mains, request),
  ]);
  const figures = { examples: own.length + mains.length, candidatePasses: ownOnCandidate.passes + ours.passes, currentPasses: theirs.passes };
  return ours.passes >= theirs.passes
    ? checkOf(
        file,
        started,
        true,
        `its ${own.length} example(s) pass on the candidate; main's ${mains.length}: candidate ${ours.passes}, current ${theirs.passes}`,
        figures,
      )
    : checkOf(
        file,
        started,
        false,
        `main's ${mains.length} example(s): the candidate passes ${ours.passes}, fewer than current's ${theirs.passes} (${ours.problem})`,
        figures,
      );
}

/** A workflow the candidate leaves alone that nests one it changes: no fewer of its examples may pass than on current. */
async function dependentCheck(file: string, workflow: Workflow, request: Request): Promise<FitnessCheck> {
  const started = performance.now();
  const examples = workflow.examples ?? [];
  if (examples.length === 0) return checkOf(file, started, true, `nests a workflow the candidate changes; it has no examples to run`);
  const [ours, theirs] = await Promise.all([
    passesOn(request.candidatePort, file, examples, request),
    passesOn(request.currentPort, file, examples, request),
  ]);
  const figures = { examples: examples.length, candidatePasses: ours.passes, currentPasses: theirs.passes };
  return ours.passes >= theirs.passes
    ? checkOf(
        file,
        started,
        true,
        `nests a workflow the candidate changes; its ${examples.length} example(s): candidate ${ours.passes}, current ${theirs.passes}`,
        figures,
      )
    : checkOf(
        file,
        started,
        false,
        `nests a workflow the candidate changes, and passes ${ours.passes} of its ${examples.length} ` +
          `example(s), fewer than current's ${theirs.passes} (${ours.problem})`,
        figures,
      );
}
