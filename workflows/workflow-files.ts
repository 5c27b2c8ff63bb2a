import { readdirSync } from "node:fs";
import { join } from "node:path";
import { WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { linkOnTheWay } from "../config/link-on-the-way.ts";
import { WORKFLOW_FILE_PATTERN } from "./workflow-file.ts";

/** The folder a workspace or checkout keeps its workflows in. */
export const workflowsFolder = (dir: string) => join(dir, WORKFLOWS_DIR);

/**
 * The workflow files of `<dir>/workflows/` (regular files with a workflow's name), sorted; none when there is no folder,
 * or when `workflows` is a link (`workflows -> wf` would offer what no check saw as `workflows/*.json`).
 */
export function workflowFiles(dir: string): string[] {
  if (linkOnTheWay(dir, WORKFLOWS_DIR) !== undefined) return [];
  try {
    return readdirSync(workflowsFolder(dir), { withFileTypes: true })
      .filter((entry) => entry.isFile() && WORKFLOW_FILE_PATTERN.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}
