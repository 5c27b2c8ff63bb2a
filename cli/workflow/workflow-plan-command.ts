import { loadCommandConfig } from "../command/command-config.ts";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RepoGit } from "../../git/repo-git.ts";
import { requireBranches } from "../../generated-tools/branch-tools.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { CHECKOUT_DIR, PLANS_DIR } from "../../config/workspace-paths.ts";
import { isMainOrCandidate } from "../../git/ref-names.ts";
import { ChatError } from "../../llm/chat-errors.ts";
import type { LanguageModel } from "../../llm/language-model.ts";
import { plannerModel } from "../../personas/persona-model.ts";
import { embedderFromEnvironment } from "../../registry/ollama-embedder.ts";
import { shellWord } from "../../security/shell-word.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { planErrorLine } from "../../workflows/check-plan.ts";
import type { StepEvent } from "../../workflows/run-workflow.ts";
import { WORKFLOW_FILE_PATTERN, WorkflowError } from "../../workflows/workflow-file.ts";
import { UsageError } from "../command/command.ts";
import { orgInvocation } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { parseInputs, stepLine } from "./workflow-lines.ts";
import type { PlanGoal, PlanResult } from "../../planner/plan-and-run.ts";
import type { PlanPlace } from "../../planner/planner-ports.ts";
import type { PlanRound } from "../../planner/plan-workflow.ts";
import { planSteps } from "../../planner/plan-steps.ts";
import { fileMissing } from "./plan-filing.ts";
import { OrgError } from "../../errors/org-error.ts";

export const PLAN_HELP = `  org workflow plan --goal TEXT [--inputs JSON] [--run] [--save NAME] [--build] [--json] [--model M]
                    [--workspace DIR] [--ref BRANCH] [--repo DIR]

plan   Finds the tools the goal may need (the registry: promoted tools, and a candidate's with --ref), offers
       them to the planner model (workflow.plannerModel, else the toolsmith's) with exactly one tool,
       submit_workflow, and checks what it submits: everything 'check' checks, and that the types meet
       (each reference exists in the schema it reads and fits the input it feeds, required inputs fed,
       --inputs fit). A refused plan goes back with each error for up to workflow.planRepairs rounds
       (default 2). The plan is kept in .org/plans/; without --run it prints the plan and the command that
       runs it. Steps no tool can do are named; --build plans with a live candidate's tool of the step's name
       (said: "uses X from candidate cand/…, not yet promoted"), has the toolsmith make each other one on a
       candidate, and plans again over those candidates. Exit 0 when planned (and run), 1 when refused, a step failed or a tool is
       missing, 2 for a wrong command line, 3 when the planner never calls submit_workflow.
       --run           run the checked plan on --inputs, in the sandbox, and print its output
       --save NAME     run it, then land workflows/NAME.json (with the goal, and the run as its example) on a
                       new cand/ branch; the fitness gate judges it and promotion serves it
       --build         use the candidates that have the missing tools, make the others, and plan again
       --json          one JSON line: {ok, workflow, output, rounds, steps, plan}, and the candidates it uses
                       (candidates, built)
       --model M       the planner's model id (default: workflow.plannerModel, else the toolsmith's)
       --repo DIR      the repository whose tools are searched and where --save and --build land candidates
                       (default: org's checkout)`;

const FLAGS = {
  goal: { type: "string" },
  inputs: { type: "string" },
  run: { type: "boolean" },
  save: { type: "string" },
  build: { type: "boolean" },
  json: { type: "boolean" },
  model: { type: "string" },
  workspace: { type: "string" },
  ref: { type: "string" },
  repo: { type: "string" },
} as const;

const MAX_GOAL = 2_000;
const say = (text: string) => process.stderr.write(`${sanitizeForTerminal(text)}\n`);

/** What the command line asks, checked before any model is asked (exit 2 otherwise). */
type PlanArgs = {
  goal: string;
  inputs?: Record<string, unknown>;
  run: boolean;
  save?: string;
  build: boolean;
  json: boolean;
  model?: string;
  workspaceDir: string;
  repoDir: string;
  refs: string[];
};

function readPlanArgs(args: string[]): PlanArgs {
  const { values } = parseCommandArgs("workflow plan", args, FLAGS);
  const goal = values.goal?.trim() ?? "";
  if (goal === "") throw new UsageError('workflow plan needs --goal "what the workflow should do"', "workflow");
  const characters = [...goal].length;
  if (characters > MAX_GOAL) throw new UsageError(`--goal is ${characters} characters; say it in at most ${MAX_GOAL}`, "workflow");
  let inputs: Record<string, unknown> | undefined;
  if (values.inputs !== undefined) {
    const parsed = parseInputs(values.inputs);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new UsageError(
        `--inputs must be a JSON object such as '{"number":5}', not ${Array.isArray(parsed) ? "an array" : JSON.stringify(parsed)}`,
        "workflow",
      );
    inputs = Object.fromEntries(Object.entries(parsed));
  }
  if (values.save !== undefined && !WORKFLOW_FILE_PATTERN.test(`${values.save}.json`))
    throw new UsageError(`--save takes a workflow name of letters, digits, _ . - (it becomes workflows/NAME.json), not '${values.save}'`, "workflow");
  if (values.ref !== undefined && !isMainOrCandidate(values.ref))
    throw new UsageError(`--ref takes a cand/YYYYMMDDTHHMMSSZ branch, not '${values.ref}'`, "workflow");
  return {
    goal,
    // A plan that runs is checked against what it runs on: no --inputs is {}.
    ...(inputs !== undefined ? { inputs } : values.run === true || values.save !== undefined ? { inputs: {} } : {}),
    run: values.run === true || values.save !== undefined,
    ...(values.save !== undefined ? { save: values.save } : {}),
    build: values.build === true,
    json: values.json === true,
    ...(values.model !== undefined ? { model: values.model } : {}),
    workspaceDir: resolve(values.workspace ?? process.cwd()),
    repoDir: resolve(values.repo ?? CHECKOUT_DIR),
    refs: values.ref !== undefined && values.ref !== "main" ? [values.ref] : [],
  };
}

/** The workspace and the repository exist, and the branch given is there, before any model is asked. */
async function checkPlaces(asked: PlanArgs): Promise<void> {
  if (!existsSync(asked.workspaceDir) || !statSync(asked.workspaceDir).isDirectory())
    throw new OrgError(`--workspace ${asked.workspaceDir} is not a folder; give the folder the workflow is planned for`);
  await requireBranches(RepoGit.openCheckout(asked.repoDir, "give --repo the org checkout whose tools the plan uses"), asked.refs, asked.repoDir);
}

/** Progress on stderr: each plan as it is read. */
function showRound(event: PlanRound): void {
  if (event.outcome === "refused") {
    say(`plan ${event.round}: refused (${event.errors?.length ?? 0} error(s))`);
    for (const error of event.errors ?? []) say(`  ${planErrorLine(error)}`);
  } else if (event.outcome === "no call") say(`plan ${event.round}: no submit_workflow call${event.last ? " again; stopping" : "; reminded once"}`);
  else say(`plan ${event.round}: ${event.outcome}`);
}

/** `org workflow plan`: from a goal to a checked plan, run, saved, or the tools it misses built. */
export async function workflowPlan(args: string[], signal: AbortSignal): Promise<number> {
  const asked = readPlanArgs(args);
  await checkPlaces(asked);
  const config = loadCommandConfig(undefined, asked.workspaceDir);
  const model = plannerModel(config, asked.model);
  const embedder = embedderFromEnvironment();
  const [{ planFromGoal }, { plannerPorts }] = await Promise.all([import("../../planner/plan-and-run.ts"), import("../../planner/planner-ports.ts")]);
  const place: PlanPlace = { workspaceDir: asked.workspaceDir, repoDir: asked.repoDir, config, ...sandboxAccessFrom({ config }), refs: asked.refs };
  const goal: PlanGoal = {
    goal: asked.goal,
    ...(asked.inputs !== undefined ? { inputs: asked.inputs } : {}),
    run: asked.run,
    signal,
    ...(asked.json ? {} : { onRound: showRound, onStep: (event: StepEvent) => say(stepLine(event)) }),
  };
  // The planner's ports over the candidates `refs` (--ref, and what --build made).
  const planOver = async (refs: readonly string[]) =>
    planFromGoal(await plannerPorts({ ...place, refs, model, ...(embedder ? { embedder } : {}), fileMissing }, signal), goal);
  let result: PlanResult;
  try {
    result = await planOver(place.refs);
    if (result.outcome.kind === "missing") result = await withCandidates(result, asked, place, planOver, signal);
    if (result.outcome.kind === "missing" && asked.build) {
      const { buildMissing } = await import("./workflow-plan-build.ts");
      const candidates = result.candidates ?? [];
      const built = await buildMissing(result, { ...place, refs: [...place.refs, ...candidates] }, planOver, { json: asked.json, say, signal });
      result = { ...built, ...(candidates.length > 0 ? { candidates } : {}) };
    }
  } catch (error) {
    const failure = planFailure(error, model);
    // --json keeps its promise of one last line on stdout, whatever ended the plan.
    if (asked.json && failure instanceof OrgError) console.log(terminalSafeJson({ ok: false, failure: failure.message }));
    throw failure;
  }
  for (const note of result.notes) if (!asked.json) say(`note: ${note}`);
  const code = await report(result, asked, { ...place, signal });
  return code;
}

/**
 * A missing step a live candidate has a tool of that name for: with --build the goal is planned again over those
 * candidates (the toolsmith would refuse the name as taken), and the output says which tools are not yet promoted;
 * without it, a note says so and how to plan with them.
 */
async function withCandidates(
  first: PlanResult,
  asked: PlanArgs,
  place: PlanPlace,
  planOver: (refs: readonly string[]) => Promise<PlanResult>,
  signal: AbortSignal,
): Promise<PlanResult> {
  if (first.outcome.kind !== "missing") return first;
  const { missingHeldByCandidates, usedFromCandidate } = await import("./plan-candidates.ts");
  const held = await missingHeldByCandidates(first.outcome.missing, asked.repoDir, place.refs, signal);
  if (held.length === 0) return first;
  if (!asked.build) {
    const hints = held.map(
      (one) => `${one.tool} is not promoted, but candidate ${one.branch} has it; --build ` + `plans with it (or --ref ${one.branch})`,
    );
    return { ...first, notes: [...first.notes, ...hints] };
  }
  const candidates = [...new Set(held.map((one) => one.branch))];
  const again = await planOver([...place.refs, ...candidates]);
  return { ...again, notes: [...first.notes, ...held.map(usedFromCandidate), ...again.notes], candidates };
}

/** A model server that failed, or a workflow that failed as it ran, as one line for the user. */
function planFailure(error: unknown, model: LanguageModel): unknown {
  if (error instanceof ChatError && error.kind !== "aborted")
    return new OrgError(
      `the planner's model server ${model.server} failed: ${error.message.replace(/[.\s]+$/, "")}. Start it, ` +
        `or set workflow.plannerModel / OLLAMA_BASE.`,
    );
  if (error instanceof WorkflowError) return new OrgError(`the plan was checked, but its run failed: ${error.message}`);
  return error;
}

/** What the result says, on stdout (the plan, its output, or one JSON line) and the exit code. */
async function report(result: PlanResult, asked: PlanArgs, place: PlanPlace & { signal: AbortSignal }): Promise<number> {
  const { outcome, record, ran } = result;
  if (outcome.kind === "planned" && record) {
    const saved =
      asked.save !== undefined && ran
        ? await (await import("./workflow-plan-save.ts")).savePlan(record, ran.output, asked.save, place, [
            ...place.refs,
            ...(result.candidates ?? []),
            ...(result.built ?? []),
          ])
        : undefined;
    if (asked.json) {
      const steps = ran?.steps.map((step) => ({
        id: step.step,
        file: step.file,
        status: step.status,
        ...(step.items !== undefined ? { items: step.items } : {}),
        ms: Math.round(step.durationMs),
      }));
      console.log(
        terminalSafeJson({
          ok: true,
          workflow: outcome.workflow,
          ...(ran ? { output: ran.output } : {}),
          rounds: outcome.rounds,
          ...(steps ? { steps } : {}),
          plan: record.id,
          ...(saved ? { saved } : {}),
          ...(result.built ? { built: result.built } : {}),
          ...(result.candidates ? { candidates: result.candidates } : {}),
        }),
      );
      return 0;
    }
    if (ran) console.log(sanitizeForTerminal(JSON.stringify(ran.output, null, 2) ?? "null"));
    else {
      for (const line of planSteps(outcome.workflow)) say(line);
      console.log(sanitizeForTerminal(JSON.stringify(outcome.workflow, null, 2)));
      const inputs = asked.inputs !== undefined ? ` --inputs ${shellWord(JSON.stringify(asked.inputs))}` : "";
      say(
        `plan ${record.id} is kept in ${join(asked.workspaceDir, PLANS_DIR)}; run it: ${orgInvocation()} workflow run --plan ${record.id}${inputs}`,
      );
    }
    if (saved) say(saved.next);
    const unpromoted = [...(result.candidates ?? []), ...(result.built ?? [])];
    if (unpromoted.length > 0)
      say(
        `the plan uses tools on ${unpromoted.join(", ")}; promote them to keep it: ` +
          `${unpromoted
            .map(
              (branch) =>
                `${orgInvocation()} instance start candidate ${branch} && ` + `${orgInvocation()} fitness && ${orgInvocation()} promote ${branch}`,
            )
            .join("; ")}`,
      );
    return 0;
  }
  return reportUnplanned(result, asked);
}

function reportUnplanned(result: PlanResult, asked: PlanArgs): number {
  const { outcome } = result;
  if (outcome.kind === "missing") {
    const lines = outcome.missing.map((step) => `${step.id}: ${step.goal}`);
    if (asked.json)
      console.log(
        terminalSafeJson({
          ok: false,
          missing: outcome.missing,
          rounds: outcome.rounds,
          workflow: outcome.workflow,
          proposals: result.proposals ?? [],
        }),
      );
    else {
      say(`the goal needs ${outcome.missing.length} tool(s) nobody has: ${lines.join("; ")}`);
      for (const filed of result.proposals ?? [])
        say(`${filed.step}: ${filed.created ? "filed as" : "joined"} grow proposal ${filed.proposal} (org grow show ${filed.proposal})`);
      say(
        `make them on candidates and plan again: ${orgInvocation()} workflow plan --goal ` +
          `${shellWord(asked.goal)}${asked.inputs ? ` --inputs ${shellWord(JSON.stringify(asked.inputs))}` : ""} --build`,
      );
    }
    return 1;
  }
  if (outcome.kind === "silent") {
    const said = outcome.said ? ` It said: "${outcome.said}"` : "";
    if (asked.json)
      console.log(terminalSafeJson({ ok: false, rounds: outcome.rounds, failure: "the planner never called submit_workflow", said: outcome.said }));
    else say(`the planner never called submit_workflow (asked twice).${said}`);
    return 3;
  }
  if (outcome.kind === "refused") {
    if (asked.json) console.log(terminalSafeJson({ ok: false, rounds: outcome.rounds, errors: outcome.errors }));
    else
      say(
        `no plan passed the check in ${outcome.rounds} round(s); the last plan's ` +
          `errors:\n${outcome.errors.map((error) => `  ${planErrorLine(error)}`).join("\n")}`,
      );
    return 1;
  }
  return 1;
}
