import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new workspace (a temp folder anyone may read) holding `count.json`: one step, `tool` (word_count) on its `text`. */
export function countWorkflowWorkspace(prefix: string, tool = "word_count"): string {
  const workspace = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(workspace, 0o755);
  const workflow = {
    name: "count",
    inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    steps: [{ id: "count", tool, inputs: { text: "$inputs.text" } }],
    output: { words: "$steps.count.output.words" },
  };
  writeFileSync(join(workspace, "count.json"), JSON.stringify(workflow));
  return workspace;
}
