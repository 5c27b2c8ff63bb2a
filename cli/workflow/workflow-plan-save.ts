import { WORKFLOWS_DIR } from "../../config/workspace-paths.ts";
import { workflowGraphOf } from "../../workflows/load-workflow.ts";
import { workflowsFolder } from "../../workflows/workflow-files.ts";
import { landPlan } from "../../planner/land-plan.ts";
import type { PlanPlace } from "../../planner/planner-ports.ts";
import type { PlanRecord } from "../../planner/plan-store.ts";
import { redactValue } from "../../security/redact.ts";
import { type Workflow, WorkflowError } from "../../workflows/workflow-file.ts";
import { orgInvocation } from "../command/org-invocation.ts";
import { OrgError } from "../../errors/org-error.ts";

/** The largest example a saved workflow keeps: the gate runs it again, and the file stays small. */
const MAX_EXAMPLE_BYTES = 64 * 1024;

/** Where a saved plan went, and the commands that judge and promote it. */
export type SavedPlan = { file: string; branch: string; commit: string; next: string };

/**
 * `--save NAME`: the checked plan, with its goal and the run it just made as its example (redacted), lands as
 * `workflows/NAME.json` on a new `cand/` branch of the repository that grows; never on main.
 */
export async function savePlan(
  record: PlanRecord,
  output: unknown,
  name: string,
  setup: Pick<PlanPlace, "repoDir" | "workspaceDir" | "config"> & { signal: AbortSignal },
  built: readonly string[] = [],
): Promise<SavedPlan> {
  refuseSelfNesting(record, name, setup.workspaceDir);
  const example = redactValue({ inputs: record.inputs ?? {}, output }, setup.config.secrets);
  if (JSON.stringify(example).length > MAX_EXAMPLE_BYTES)
    throw new OrgError(
      `the run's output is too large to keep as the saved workflow's example (more than ${MAX_EXAMPLE_BYTES} bytes); nothing was saved`,
    );
  const workflow: Workflow = { ...record.workflow, goal: record.goal, examples: [example] };
  const file = `${WORKFLOWS_DIR}/${name}.json`;
  // The tools the plan uses from candidates (--ref, --build) come along: one candidate the gate can judge whole.
  const landed = await landPlan(
    setup.repoDir,
    { file, content: `${JSON.stringify(workflow, null, 2)}\n`, name, goal: record.goal, planId: record.id, built },
    setup.signal,
  );
  const org = orgInvocation();
  const along = landed.tools.length > 0 ? ` with the tools it uses (${landed.tools.join(", ")})` : "";
  const next =
    `saved ${file}${along} on ${landed.branch} (${landed.commit.slice(0, 12)}); judge and promote ` +
    `it: ${org} instance start candidate ${landed.branch} && ${org} fitness && ${org} promote ${landed.branch}`;
  return { file, branch: landed.branch, commit: landed.commit, next };
}

/** A plan saved as `name` must not run itself: it may not nest `name.json`, directly or through the workflows it nests. */
function refuseSelfNesting(record: PlanRecord, name: string, workspaceDir: string): void {
  try {
    workflowGraphOf(record.workflow, workflowsFolder(workspaceDir), `${name}.json`, { checkTool: () => undefined });
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    const why = error.message.replace(/^.*?(a cycle of workflows)/s, "$1").replace(/\. A workflow cannot.*$/s, "");
    throw new OrgError(`--save ${name}: the plan would run itself (${why}); save it under another name. Nothing was saved`);
  }
}
