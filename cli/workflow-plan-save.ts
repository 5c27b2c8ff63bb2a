import { WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { landCandidate, oneLine } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { PlanSetup } from "../planner/plan-and-run.ts";
import type { PlanRecord } from "../planner/plan-store.ts";
import { redactValue } from "../security/redact.ts";
import type { Workflow } from "../workflows/workflow-file.ts";
import { UserFacingError } from "./command.ts";
import { orgInvocation } from "./org-invocation.ts";

/** The largest example a saved workflow keeps: the gate runs it again, and the file stays small. */
const MAX_EXAMPLE_BYTES = 64 * 1024;

/** Where a saved plan went, and the commands that judge and promote it. */
export type SavedPlan = { file: string; branch: string; commit: string; next: string };

/**
 * `--save NAME`: the checked plan, with its goal and the run it just made as its example (redacted), lands as
 * `workflows/NAME.json` on a new `cand/` branch of the repository that grows; never on main.
 */
export async function savePlan(record: PlanRecord, output: unknown, name: string, setup: Pick<PlanSetup, "repoDir" | "config" | "signal">): Promise<SavedPlan> {
  const example = redactValue({ inputs: record.inputs ?? {}, output }, setup.config.secrets);
  if (JSON.stringify(example).length > MAX_EXAMPLE_BYTES)
    throw new UserFacingError(
      `the run's output is too large to keep as the saved workflow's example (more than ${MAX_EXAMPLE_BYTES} bytes); nothing was saved`,
    );
  const workflow: Workflow = { ...record.workflow, goal: record.goal, examples: [example] };
  const file = `${WORKFLOWS_DIR}/${name}.json`;
  const landed = await landCandidate(
    new RepoGit(setup.repoDir),
    {
      files: { [file]: `${JSON.stringify(workflow, null, 2)}\n` },
      subject: `feat(workflows): planned workflow ${name}`,
      body: oneLine(record.goal, 500),
      trailers: { "Org-Plan": record.id },
    },
    { signal: setup.signal },
  );
  const org = orgInvocation();
  const next = `saved ${file} on ${landed.branch} (${landed.commit.slice(0, 12)}); judge and promote it: ${org} instance start candidate ${landed.branch} && ${org} fitness && ${org} promote ${landed.branch}`;
  return { file, branch: landed.branch, commit: landed.commit, next };
}
