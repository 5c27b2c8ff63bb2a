import { describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { TEXT_AND_LOUD, workflowWorkspace } from "../testing/workflow-fixture.ts";

async function org(args: string[], cwd: string) {
  const child = Bun.spawn(orgCommand(args), { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

describe("org workflow", () => {
  test("run --json prints the output as one JSON line; without --json, each step on stderr; check says it can run", async () => {
    using workspace = workflowWorkspace();
    workspace.write("count.json", {
      name: "count",
      inputs: TEXT_AND_LOUD,
      steps: [
        { id: "count", tool: "word_count", inputs: { text: "$inputs.text" } },
        { id: "loud", tool: "shout", if_condition: "$inputs.loud", inputs: { text: "$inputs.text" } },
      ],
      output: { words: "$steps.count.output.words", loud: "$steps.loud.output", note: "\u009b2J\u202e" },
    });
    const json = await org(["workflow", "run", "count.json", "--inputs", '{"text":"one two three","loud":false}', "--json"], workspace.dir);
    expect({ exitCode: json.exitCode, stderr: json.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(json.stdout).toBe('{"words":3,"loud":null,"note":"\\u009b2J\\u202e"}\n');
    expect(JSON.parse(json.stdout).note).toBe("\u009b2J\u202e");

    const human = await org(["workflow", "run", "count.json", "--inputs", '{"text":"a b","loud":false}'], workspace.dir);
    expect(human.exitCode).toBe(0);
    expect(human.stderr).toMatch(/^✓ count\.json › count \d+ ms\n– count\.json › loud: skipped \(if_condition is false\)\n$/);
    expect(JSON.parse(human.stdout)).toEqual({ words: 2, loud: null, note: "\u009b2J\u202e" });
    expect(human.stdout).toContain("\\u009b2J\\u202e");

    const check = await org(["workflow", "check", "count.json"], workspace.dir);
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toBe("ok: count.json can run — 2 steps; tools: shout, word_count; nested workflows: none\n");
  }, 60_000);

  test("a wrong workflow or wrong inputs: one line naming the step and key, exit 1; bad --inputs is a usage error", async () => {
    using workspace = workflowWorkspace();
    workspace.write("bad.json", {
      name: "bad",
      inputs: TEXT_AND_LOUD,
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$steps.missing.output.text" } }],
      output: null,
    });
    const check = await org(["workflow", "check", "bad.json"], workspace.dir);
    expect(check.exitCode).toBe(1);
    expect(check.stderr).toBe('org: bad.json: step "count", key inputs.text: $steps.missing.output.text names no step (steps: count)\n');
    const run = await org(["workflow", "run", "bad.json", "--inputs", "{"], workspace.dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('step "count", key inputs.text');
    workspace.write("ok.json", {
      name: "ok",
      inputs: TEXT_AND_LOUD,
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
      output: null,
    });
    const inputs = await org(["workflow", "run", "ok.json", "--inputs", "{"], workspace.dir);
    expect(inputs.exitCode).toBe(2);
    expect(inputs.stderr).toContain("--inputs is not JSON");
    const schema = await org(["workflow", "run", "ok.json", "--inputs", '{"text":1}'], workspace.dir);
    expect(schema.exitCode).toBe(1);
    expect(schema.stderr).toMatch(/^org: ok\.json: key inputs: the inputs do not match the workflow's inputs schema: text: .*\n$/);
  });
});
