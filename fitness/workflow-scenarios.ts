import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import type { FitnessCheck } from "../git/fitness-report.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { workflowBlobAt, workflowsChanged } from "../git/workflow-tree.ts";
import { parseWorkflow, type WorkflowExample } from "../workflows/workflow-file.ts";

/** The name a workflow's own scenario goes by in reports. */
export const workflowScenarioName = (file: string) => `workflow ${file.replace(/\.json$/, "")}`;

// What `POST /v1/workflows/:name/run` answers; anything else is a miss naming what came back.
const RunAnswer = z.union([z.object({ ok: z.literal(true), output: z.unknown() }), z.object({ ok: z.literal(false), error: z.string() })]);

type Outcome = { ok: true } | { ok: false; problem: string };

/** One example through an instance's `POST /v1/workflows/<name>/run`: ok when the workflow answers exactly the example's output. */
async function runExample(
  port: number,
  name: string,
  example: WorkflowExample,
  settings: { token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Outcome> {
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

/** A workflow's examples as a commit holds them, or why there are none to judge by. */
async function examplesAt(
  git: RepoGit,
  commit: string,
  file: string,
  signal?: AbortSignal,
): Promise<{ examples: WorkflowExample[] } | { problem: string } | undefined> {
  const blob = await workflowBlobAt(git, commit, file, signal);
  if (blob === undefined) return undefined;
  try {
    const workflow = parseWorkflow(await git.readBlob(blob, signal), `${WORKFLOWS_DIR}/${file}`);
    return { examples: workflow.examples ?? [] };
  } catch (error) {
    return { problem: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error) };
  }
}

/** What each example gave on one instance: how many passed and the first miss. */
async function passesOn(
  port: number,
  file: string,
  examples: readonly WorkflowExample[],
  settings: { token?: string; timeoutMs: number; signal?: AbortSignal },
) {
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

/**
 * Each workflow the candidate adds or changes, judged as a tool is: its examples (a saved plan's run) on the candidate
 * instance, and on current too when main has the workflow; the candidate must pass every example of a new workflow, and
 * no fewer of main's than current. A workflow that does not parse, or brings no example to judge it by, fails.
 */
export async function checkWorkflowScenarios(
  git: RepoGit,
  request: { main: string; base: string; commit: string; candidatePort: number; currentPort: number; token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<FitnessCheck[]> {
  const checks: FitnessCheck[] = [];
  const settings = { ...(request.token ? { token: request.token } : {}), timeoutMs: request.timeoutMs, ...(request.signal ? { signal: request.signal } : {}) };
  for (const file of await workflowsChanged(git, request.base, request.commit, request.signal)) {
    const started = performance.now();
    const check = (ok: boolean, reason: string, figures: FitnessCheck["figures"] = {}): FitnessCheck => ({
      stage: "scenarios",
      name: workflowScenarioName(file),
      ok,
      reason,
      figures,
      durationMs: performance.now() - started,
    });
    const candidate = await examplesAt(git, request.commit, file, request.signal);
    if (candidate === undefined) continue;
    if ("problem" in candidate) {
      checks.push(check(false, `workflows/${file} is not a workflow org can run: ${candidate.problem}`));
      continue;
    }
    const onMain = await examplesAt(git, request.main, file, request.signal);
    const examples = onMain && "examples" in onMain && onMain.examples.length > 0 ? onMain.examples : candidate.examples;
    if (examples.length === 0) {
      checks.push(
        check(false, `workflows/${file} brings no examples to judge it by; save it with org workflow plan --save, which keeps the run as its example`),
      );
      continue;
    }
    const [mine, theirs] = await Promise.all([
      passesOn(request.candidatePort, file, examples, settings),
      onMain ? passesOn(request.currentPort, file, examples, settings) : Promise.resolve(undefined),
    ]);
    const figures = { examples: examples.length, candidatePasses: mine.passes, ...(theirs ? { currentPasses: theirs.passes } : {}) };
    if (!theirs) {
      const ok = mine.passes === examples.length;
      checks.push(
        check(
          ok,
          `new workflow: the candidate passes ${mine.passes} of its ${examples.length} example(s)${mine.problem ? ` (first miss: ${mine.problem})` : ""}`,
          figures,
        ),
      );
    } else {
      const ok = mine.passes >= theirs.passes;
      const reason = ok
        ? `main's ${examples.length} example(s): candidate passes ${mine.passes}, current ${theirs.passes}`
        : `main's ${examples.length} example(s): the candidate passes ${mine.passes}, fewer than current's ${theirs.passes} (${mine.problem})`;
      checks.push(check(ok, reason, figures));
    }
  }
  return checks;
}
