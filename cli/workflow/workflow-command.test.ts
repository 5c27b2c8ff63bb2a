import { describe, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { join } from "node:path";
import { writeGeneratedTool } from "../../testing/generated-tool-files.ts";
import { orgClone } from "../../testing/org-clone.ts";
import { makeCandidate } from "../../testing/promotion-fixture.ts";
import { TEXT_AND_LOUD, workflowWorkspace } from "../../testing/workflow-fixture.ts";

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
    const run = await org(["workflow", "run", "bad.json", "--inputs", '{"text":"a","loud":false}'], workspace.dir);
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
  }, 60_000);

  test("inputs that are not JSON are said as such, with where, before a step's missing tool; a missing file is named plainly", async () => {
    using workspace = workflowWorkspace();
    workspace.write("unknown.json", {
      name: "unknown",
      inputs: { type: "object" },
      steps: [{ id: "a", tool: "no_such_tool", inputs: {} }],
      output: null,
    });
    const notJson = await org(["workflow", "run", "unknown.json", "--inputs", "notjson"], workspace.dir);
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toStartWith(
      `org: --inputs is not JSON (at column 1: expected a value but found "n"); give an object such as '{"text":"hi"}'\n`,
    );
    expect(notJson.stderr).not.toContain("no_such_tool");
    const missing = await org(["workflow", "run", "nope.json"], workspace.dir);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toStartWith(
      `org: there is no workflow file nope.json (looked for ${join(workspace.dir, "nope.json")}). Give the path of an existing .json workflow file`,
    );
    expect(missing.stderr).not.toContain("nope.json::");
  }, 60_000);

  test("a step's tool that only a candidate branch has: the error names the branch and the command with --ref, which works as printed", async () => {
    using clone = orgClone("org-workflow-ref-", { withoutGeneratedTools: true });
    const branch = "cand/20261123T101500Z";
    makeCandidate(clone.dir, branch, (worktree) => void writeGeneratedTool(worktree, "word_tally"));
    using workspace = workflowWorkspace();
    workspace.write("tally.json", {
      name: "tally",
      inputs: { type: "object" },
      steps: [{ id: "a", tool: "word_tally", inputs: { text: "one two" } }],
      output: "$steps.a.output",
    });
    const clonedOrg = async (args: string[]) => {
      const child = Bun.spawn([join(clone.dir, "bin", "org"), ...args], { cwd: workspace.dir, stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { stdout, stderr, exitCode };
    };
    const refused = await clonedOrg(["workflow", "run", "tally.json", "--json"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`word_tally is not promoted, but candidate ${branch} has it; try the candidate's tool with:\n`);
    const command = /^ {2}(\S+ workflow run tally\.json --json --ref cand\/\S+)$/m.exec(refused.stderr)?.[1];
    expect(command).toEndWith(`workflow run tally.json --json --ref ${branch}`);
    const asPrinted = Bun.spawn(["/bin/sh", "-c", command as string], { cwd: workspace.dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, exitCode] = await Promise.all([new Response(asPrinted.stdout).text(), asPrinted.exited]);
    expect({ exitCode, stdout }).toEqual({ exitCode: 0, stdout: '{"words":2}\n' });
  }, 120_000);
});
