import type { OrgConfig } from "../config/org-config.ts";
import { type ToolAtRef, toolsAtRef } from "../generated-tools/tool-catalog.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { generatedToolCaller, toolRootsFor } from "../workflows/generated-tool-caller.ts";
import { workflowGraphOf } from "../workflows/load-workflow.ts";
import { runWorkflow, type StepEvent } from "../workflows/run-workflow.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import { workflowsFolder } from "../workflows/workflow-files.ts";
import { type BranchTools, type CatalogTool, planCatalog } from "./plan-catalog.ts";
import { type PlanRecord, savePlanRecord } from "./plan-store.ts";
import type { MissingStep } from "./planned-workflow.ts";
import { savedWorkflows } from "./saved-workflows.ts";
import { branchRef } from "../git/ref-names.ts";

/**
 * Where a plan is made and run: the workspace (its workflows, its private state), the repository whose tools and
 * candidates count (`refs`, the candidate branches asked for), and the sandbox and policy its steps run under.
 */
export type PlanPlace = SandboxAccess & { workspaceDir: string; repoDir: string; config: OrgConfig; refs: readonly string[] };

/** What a goal may use: the tools offered (the candidates' and the registry's best), the saved workflows, and notes on what was left out. */
export type PlanOffer = { tools: CatalogTool[]; workflows: ReadonlyMap<string, Workflow>; notes: string[] };

/** A kept plan's run: its output and each step as it ended. */
export type PlanRun = { output: unknown; steps: StepEvent[] };

/** Runs a kept plan as `workflow run` runs a file in the workspace's `workflows/` (its nested workflows read there). */
export type PlanRunner = {
  run(record: PlanRecord, inputs: unknown, options: { signal: AbortSignal; onStep?: (event: StepEvent) => void }): Promise<PlanRun>;
};

/** A plan that names steps no tool can do, as grow files it. */
export type MissingPlan = { goal: string; workflow: Workflow; missing: readonly MissingStep[] };

/** Filed grow proposals, each step's (new or joined), or why nothing was filed. */
export type MissingFiled = { ok: true; filed: { step: string; proposal: string; created: boolean }[] } | { ok: false; why: string };

/** Files a plan's missing steps as grow proposals in `workspaceDir` (grow sits above the planner, so its caller hands this in). */
export type MissingFiler = (workspaceDir: string, plan: MissingPlan, options: { confirmSessions: number }) => Promise<MissingFiled>;

/**
 * The few ports the planner is handed, as a room turn is handed its room: where it finds what a goal may use, the
 * model and settings it plans with, the store its checked plans are kept in (with the candidates they use), the
 * runner that runs them, and where the steps nobody can do are filed.
 */
export type PlannerPorts = {
  search(goal: string, signal: AbortSignal): Promise<PlanOffer>;
  model: LanguageModel;
  settings: OrgConfig["workflow"];
  plans: { keep(plan: Pick<PlanRecord, "goal" | "inputs" | "workflow" | "rounds">): PlanRecord };
  runner: PlanRunner;
  fileMissing?(plan: MissingPlan): Promise<MissingFiled>;
};

/** The tools of each candidate branch, read through git and checked. */
async function branchToolsOf(git: RepoGit, refs: readonly string[], signal?: AbortSignal): Promise<BranchTools[]> {
  const branches: BranchTools[] = [];
  for (const ref of refs) branches.push({ ref, tools: await toolsAtRef(git, branchRef(ref), signal) });
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

/** The runner of plans made at `place`, over the candidates' tools read once. */
function runnerOver(place: PlanPlace, tools: ReturnType<typeof toolCaller>): PlanRunner {
  const maxStepRuns = place.config.limits.workflowStepRuns;
  return {
    async run(record, inputs, { signal, onStep }) {
      const graph = workflowGraphOf(record.workflow, workflowsFolder(place.workspaceDir), `${record.id}.json`, {
        checkTool: tools.checkTool,
        maxStepRuns,
      });
      const steps: StepEvent[] = [];
      const output = await runWorkflow(graph, inputs, {
        callTool: tools.callTool,
        signal,
        maxStepRuns,
        onStep: (event) => {
          steps.push(event);
          onStep?.(event);
        },
      });
      return { output, steps };
    },
  };
}

/** The runner of kept plans at `place` (`workflow run --plan ID`): the candidates' tools read through git once. */
export async function planRunner(place: PlanPlace, signal: AbortSignal): Promise<PlanRunner> {
  return runnerOver(place, toolCaller(place, await branchToolsOf(new RepoGit(place.repoDir), place.refs, signal)));
}

/**
 * The planner's ports at `place`, made where a plan is asked for (the room's `plan_workflow`, `org workflow plan`): the
 * candidate branches' tools read through git once, the registry opened for each search, plans kept in `.org/plans/`.
 */
export async function plannerPorts(
  place: PlanPlace & { model: LanguageModel; embedder?: Embedder; fileMissing?: MissingFiler },
  signal: AbortSignal,
): Promise<PlannerPorts> {
  const branches = await branchToolsOf(new RepoGit(place.repoDir), place.refs, signal);
  const tools = toolCaller(place, branches);
  const roots = toolRootsFor(place.workspaceDir, place.repoDir);
  const { fileMissing } = place;
  return {
    async search(goal, signal) {
      const { registry } = ToolRegistry.open(place.repoDir);
      try {
        await registry.refresh(signal);
        const catalog = await planCatalog(goal, {
          registry,
          ...(place.embedder ? { embedder: place.embedder } : {}),
          roots,
          branches,
          limit: place.config.workflow.planTools,
          signal,
        });
        const saved = savedWorkflows(place.workspaceDir, tools.checkTool);
        return { tools: catalog.tools, workflows: saved.workflows, notes: [...catalog.notes, ...saved.notes] };
      } finally {
        registry.close();
      }
    },
    model: place.model,
    settings: place.config.workflow,
    plans: { keep: (plan) => savePlanRecord(place.workspaceDir, { ...plan, refs: [...place.refs], repoDir: place.repoDir }) },
    runner: runnerOver(place, tools),
    ...(fileMissing ? { fileMissing: (plan) => fileMissing(place.workspaceDir, plan, { confirmSessions: place.config.grow.confirmSessions }) } : {}),
  };
}
