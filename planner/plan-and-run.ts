import type { OrgConfig } from "../config/org-config.ts";
import { RepoGit } from "../git/repo-git.ts";
import { type ToolAtRef, toolsAtRef } from "../generated-tools/tool-catalog.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { generatedToolCaller, toolRootsFor } from "../workflows/generated-tool-caller.ts";
import { workflowGraphOf } from "../workflows/load-workflow.ts";
import { runWorkflow, type StepEvent } from "../workflows/run-workflow.ts";
import { type BranchTools, planCatalog } from "./plan-catalog.ts";
import { type PlanRecord, savePlanRecord } from "./plan-store.ts";
import { type PlanOutcome, type PlanRound, planWorkflow } from "./plan-workflow.ts";
import { savedWorkflows } from "./saved-workflows.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import type { MissingStep } from "./planned-workflow.ts";
import { workflowsFolder } from "../workflows/workflow-files.ts";

/**
 * Where a plan is made and run: the workspace (its workflows, its private state), the repository whose tools and
 * candidates count, and the sandbox and policy its steps run under.
 */
export type PlanPlace = SandboxAccess & { workspaceDir: string; repoDir: string; config: OrgConfig; refs: readonly string[] };

/** Files a plan's missing steps as grow proposals, each step's proposal (new or joined), or why nothing was filed. */
export type MissingFiler = (
  workspaceDir: string,
  plan: { goal: string; workflow: Workflow; missing: readonly MissingStep[] },
  options: { confirmSessions: number },
) => Promise<{ ok: true; filed: { step: string; proposal: string; created: boolean }[] } | { ok: false; why: string }>;

/** What planning from a goal is given. */
export type PlanSetup = PlanPlace & {
  /** Files the missing steps as grow proposals (grow sits above the planner, so its caller hands this in). */
  fileMissing?: MissingFiler;
  goal: string;
  inputs?: Record<string, unknown>;
  model: LanguageModel;
  embedder?: Embedder;
  /** Run the plan once it checks. */
  run: boolean;
  signal: AbortSignal;
  onRound?: (event: PlanRound) => void;
  onStep?: (event: StepEvent) => void;
};

/** What planning found: the outcome, notes on what was left out, the kept plan and its run. */
export type PlanResult = {
  outcome: PlanOutcome;
  notes: string[];
  record?: PlanRecord;
  ran?: { output: unknown; steps: StepEvent[] };
  /** Candidate branches made for the plan's missing tools (`--build`): what to promote to keep it. */
  built?: string[];
  /** The grow proposal each missing step was filed as (new, or one it joined). */
  proposals?: { step: string; proposal: string; created: boolean }[];
};

/** The tools of each candidate branch, read through git and checked. */
export async function branchToolsOf(repoDir: string, refs: readonly string[], signal?: AbortSignal): Promise<BranchTools[]> {
  const git = new RepoGit(repoDir);
  const branches: BranchTools[] = [];
  for (const ref of refs) branches.push({ ref, tools: await toolsAtRef(git, `refs/heads/${ref}`, signal) });
  return branches;
}

/** The workflow runner's tools: the branches' first (the first branch that has a name wins), then the promoted ones. */
function toolCaller(place: PlanPlace, branches: readonly BranchTools[]) {
  const merged = new Map<string, ToolAtRef>();
  for (const branch of branches) for (const [name, tool] of branch.tools) if (!merged.has(name)) merged.set(name, tool);
  return generatedToolCaller({
    roots: toolRootsFor(place.workspaceDir, place.repoDir),
    scratchDir: scratchDirFor({ workspaceDir: place.workspaceDir, sessionId: "plan" }),
    ...(branches.length > 0 ? { branch: { tools: merged, repoDir: place.repoDir } } : {}),
    sandbox: place.sandbox,
    sandboxPolicy: place.sandboxPolicy,
  });
}

/**
 * From a goal to a checked plan, kept under `.org/plans/`, and (with `run`) its output: the registry's tools for the
 * goal and the saved workflows are offered to the planner; what it submits is checked by org, repaired in rounds, and
 * run through the same runner as `workflow run`.
 */
export async function planFromGoal(setup: PlanSetup): Promise<PlanResult> {
  const branches = await branchToolsOf(setup.repoDir, setup.refs, setup.signal);
  const tools = toolCaller(setup, branches);
  const { registry } = ToolRegistry.open(setup.repoDir);
  let catalog: Awaited<ReturnType<typeof planCatalog>>;
  try {
    await registry.refresh(setup.signal);
    catalog = await planCatalog(setup.goal, {
      registry,
      ...(setup.embedder ? { embedder: setup.embedder } : {}),
      roots: toolRootsFor(setup.workspaceDir, setup.repoDir),
      branches,
      limit: setup.config.workflow.planTools,
      signal: setup.signal,
    });
  } finally {
    registry.close();
  }
  const saved = savedWorkflows(setup.workspaceDir, tools.checkTool);
  const outcome = await planWorkflow({
    goal: setup.goal,
    ...(setup.inputs !== undefined ? { inputs: setup.inputs } : {}),
    tools: catalog.tools,
    workflows: saved.workflows,
    model: setup.model,
    settings: setup.config.workflow,
    signal: setup.signal,
    ...(setup.onRound ? { onRound: setup.onRound } : {}),
  });
  const result: PlanResult = { outcome, notes: [...catalog.notes, ...saved.notes] };
  if (outcome.kind === "missing" && setup.fileMissing) {
    const filed = await setup.fileMissing(setup.workspaceDir, { goal: setup.goal, ...outcome }, { confirmSessions: setup.config.grow.confirmSessions });
    return filed.ok
      ? { ...result, proposals: filed.filed }
      : { ...result, notes: [...result.notes, `the missing steps were not filed as proposals: ${filed.why}`] };
  }
  if (outcome.kind !== "planned") return result;
  const record = savePlanRecord(setup.workspaceDir, {
    goal: setup.goal,
    ...(setup.inputs !== undefined ? { inputs: setup.inputs } : {}),
    workflow: outcome.workflow,
    rounds: outcome.rounds,
    refs: [...setup.refs],
    repoDir: setup.repoDir,
  });
  if (!setup.run) return { ...result, record };
  const ran = await runPlan(record, { ...setup, inputs: setup.inputs ?? {} }, branches);
  return { ...result, record, ran };
}

/** Runs a kept plan on `inputs` as `workflow run` runs a file in the workspace's `workflows/` (its nested workflows read there). */
export async function runPlan(
  record: PlanRecord,
  run: PlanPlace & { inputs: unknown; signal: AbortSignal; onStep?: (event: StepEvent) => void },
  branches?: readonly BranchTools[],
): Promise<{ output: unknown; steps: StepEvent[] }> {
  const tools = toolCaller(run, branches ?? (await branchToolsOf(run.repoDir, run.refs, run.signal)));
  const maxStepRuns = run.config.limits.workflowStepRuns;
  const graph = workflowGraphOf(record.workflow, workflowsFolder(run.workspaceDir), `${record.id}.json`, { checkTool: tools.checkTool, maxStepRuns });
  const steps: StepEvent[] = [];
  const output = await runWorkflow(graph, run.inputs, {
    callTool: tools.callTool,
    signal: run.signal,
    maxStepRuns,
    onStep: (event) => {
      steps.push(event);
      run.onStep?.(event);
    },
  });
  return { output, steps };
}
