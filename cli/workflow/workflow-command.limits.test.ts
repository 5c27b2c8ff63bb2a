import { expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { workflowWorkspace } from "../../testing/workflow-fixture.ts";

async function org(args: string[], cwd: string) {
  const child = Bun.spawn(orgCommand([...args]), { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

test("workflow check refuses 200 steps nested 4 deep, and takes limits.workflowStepRuns from the workspace's org.config.json", async () => {
  using workspace = workflowWorkspace();
  const inputs = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
  for (let level = 4; level >= 1; level -= 1) {
    const inner = level === 4 ? { tool: "word_count" } : { workflow: `l${level + 1}.json` };
    const steps = Array.from({ length: 200 }, (_, index) => ({ id: `s${index}`, inputs: { text: "$inputs.text" }, ...inner }));
    workspace.write(`l${level}.json`, { name: `level ${level}`, inputs, steps, output: null });
  }
  const deep = await org(["workflow", "check", "l1.json"], workspace.dir);
  expect(deep.exitCode).toBe(1);
  expect(deep.stderr).toContain("every run of this workflow makes at least 1,608,040,200 step runs");
  expect(deep.stderr).toContain("limits.workflowStepRuns (10,000)");

  expect((await org(["workflow", "check", "l4.json"], workspace.dir)).exitCode).toBe(0);
  writeFileSync(join(workspace.dir, "org.config.json"), JSON.stringify({ limits: { workflowStepRuns: 100 } }));
  const flat = await org(["workflow", "check", "l4.json"], workspace.dir);
  expect(flat.exitCode).toBe(1);
  expect(flat.stderr).toContain("at least 200 step runs");
  expect(flat.stderr).toContain("limits.workflowStepRuns (100)");
});
