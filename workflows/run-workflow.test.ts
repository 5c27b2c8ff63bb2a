import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { simpleSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { TEXT_AND_LOUD, workflowWorkspace } from "../testing/workflow-fixture.ts";
import { generatedToolCaller } from "./generated-tool-caller.ts";
import { loadWorkflowGraph } from "./load-workflow.ts";
import { runWorkflow, type StepEvent } from "./run-workflow.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

function setup(workspace: ReturnType<typeof workflowWorkspace>) {
  return generatedToolCaller({ ...testSandboxAccess(), roots: [workspace.dir], scratchDir: join(workspace.dir, ".org", "scratch", "test") });
}

describe("workflows over real generated tools in the sandbox", () => {
  test("references, foreach with $item/$index, a nested workflow, and if_condition skipping a step", async () => {
    using workspace = workflowWorkspace();
    workspace.write("total.json", {
      name: "total",
      inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
      output: { words: "$steps.count.output.words" },
    });
    const main = workspace.write("main.json", {
      name: "words per line",
      inputs: TEXT_AND_LOUD,
      steps: [
        { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
        { id: "each", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "line $index: $item" } },
        { id: "total", workflow: "total.json", inputs: { text: "${inputs.text}" } },
        { id: "loud", tool: "shout", if_condition: "$inputs.loud", inputs: { text: "$inputs.text" } },
      ],
      output: {
        lines: "$steps.split.output.lines",
        per_line: "$steps.each.output",
        first_line_words: "$steps.each.output.0.words",
        total: "$steps.total.output.words",
        summary: ["${steps.total.output.words} words, $$5", "$steps.loud.output.text"],
        loud: "$steps.loud.output",
      },
    });
    const tools = setup(workspace);
    const events: StepEvent[] = [];
    const output = await runWorkflow(
      loadWorkflowGraph(main, { checkTool: tools.checkTool }),
      { text: "one two\n\nthree", loud: false },
      {
        callTool: tools.callTool,
        onStep: (event) => events.push(event),
      },
    );
    // "line 0: one two" has 4 words, "line 1: three" 3.
    expect(output).toEqual({
      lines: ["one two", "three"],
      per_line: [{ words: 4 }, { words: 3 }],
      first_line_words: 4,
      total: 3,
      summary: ["3 words, $5", null],
      loud: null,
    });
    expect(events.map((event) => [event.file, event.step, event.status, event.items])).toEqual([
      ["main.json", "split", "done", undefined],
      ["main.json", "each", "done", 2],
      ["total.json", "count", "done", undefined],
      ["main.json", "total", "done", undefined],
      ["main.json", "loud", "skipped", undefined],
    ]);
  }, 60_000);

  test("a failing step stops the run and names the step, the item and the tool's error", async () => {
    using workspace = workflowWorkspace();
    const file = workspace.write("fail.json", {
      name: "shout each",
      inputs: { type: "object", properties: { words: { type: "array", items: { type: "string" } } }, required: ["words"] },
      steps: [
        { id: "each", tool: "shout", foreach: "$inputs.words", inputs: { text: "$item" } },
        { id: "never", tool: "word_count", inputs: { text: "x" } },
      ],
      output: "$steps.each.output",
    });
    const tools = setup(workspace);
    const events: StepEvent[] = [];
    const run = runWorkflow(
      loadWorkflowGraph(file, { checkTool: tools.checkTool }),
      { words: ["ok", "boom"] },
      { callTool: tools.callTool, onStep: (event) => events.push(event) },
    );
    await expect(run).rejects.toThrow(
      'fail.json: step "each", key tool: item 1 of 2 ("boom"): the tool shout failed (tool): the tool threw: boom is not allowed',
    );
    expect(events).toEqual([]);
  }, 60_000);
});

describe("checked before anything runs", () => {
  const never = async () => {
    throw new Error("no tool may run");
  };

  test("a cycle of nested workflows is refused with the chain", () => {
    using workspace = workflowWorkspace();
    const step = (id: string, workflow: string) => ({ id, workflow, inputs: {} });
    const a = workspace.write("a.json", { name: "a", inputs: { type: "object" }, steps: [step("to_b", "b.json")], output: null });
    workspace.write("b.json", { name: "b", inputs: { type: "object" }, steps: [step("to_a", "a.json")], output: null });
    workspace.write("self.json", { name: "self", inputs: { type: "object" }, steps: [step("again", "self.json")], output: null });
    expect(() => loadWorkflowGraph(a)).toThrow('b.json: step "to_a", key workflow: a cycle of workflows: a.json → b.json → a.json');
    expect(() => loadWorkflowGraph(join(workspace.dir, "self.json"))).toThrow("a cycle of workflows: self.json → self.json");
  });

  test.each([
    [
      "a step that does not exist",
      { text: "$steps.nope.output.words" },
      'step "b", key inputs.text: $steps.nope.output.words names no step (steps: a, b, c)',
    ],
    [
      "a step that runs later",
      { text: "$steps.c.output" },
      'step "b", key inputs.text: $steps.c.output reads step "c", which does not run before this one',
    ],
    [
      "an input the workflow does not take",
      { text: "$inputs.txt" },
      'step "b", key inputs.text: $inputs.txt names no input of this workflow (its inputs: text, loud)',
    ],
    [
      "$item outside foreach, inside an array",
      { list: ["x", "$item"] },
      'step "b", key inputs.list[1]: $item is only defined in the inputs of a step with "foreach"',
    ],
    ["a step read without .output", { text: "$steps.a.words" }, 'step "b", key inputs.text: $steps.a.words must read a step\'s output'],
  ])("a missing reference: %s", (_label, inputs, message) => {
    using workspace = workflowWorkspace();
    const file = workspace.write("w.json", {
      name: "w",
      inputs: TEXT_AND_LOUD,
      steps: [
        { id: "a", tool: "word_count", inputs: { text: "$inputs.text" } },
        { id: "b", tool: "word_count", inputs },
        { id: "c", tool: "word_count", inputs: { text: "x" } },
      ],
      output: null,
    });
    expect(() => loadWorkflowGraph(file)).toThrow(`w.json: ${message}`);
  });

  test("schema errors name the step and key; unknown tools and tampered tools are refused", () => {
    using workspace = workflowWorkspace();
    const tools = setup(workspace);
    const load = (workflow: unknown) => loadWorkflowGraph(workspace.write("w.json", workflow), { checkTool: tools.checkTool });
    const base = { name: "w", inputs: TEXT_AND_LOUD, output: null };
    expect(() => load({ ...base, steps: [{ id: "a", tool: "word_count", workflow: "x.json", inputs: {} }] })).toThrow(
      'w.json: step "a", key tool: needs exactly one of "tool" or "workflow"',
    );
    expect(() => load({ ...base, steps: [{ id: "a", tool: "word_count", inputs: {}, retries: 3 }] })).toThrow(
      'w.json: step "a", key retries: Unrecognized key',
    );
    expect(() => load({ ...base, steps: [{ id: "a", workflow: "../etc/x.json" }] })).toThrow(
      'w.json: step "a", key workflow: must be a .json file name',
    );
    expect(() => load({ ...base, steps: [{ id: "a", tool: "word_count", if_condition: "yes" }] })).toThrow(
      'w.json: step "a", key if_condition: must be a reference',
    );
    expect(() => load({ ...base, steps: [{ id: "a", tool: "no_such_tool" }] })).toThrow(
      'w.json: step "a", key tool: there is no promoted tool "no_such_tool"',
    );
    expect(() => load({ ...base, steps: [{ id: "a", workflow: "missing.json" }] })).toThrow(
      'w.json: step "a", key workflow: there is no workflow file',
    );
    expect(() => load({ ...base, steps: [] })).toThrow("w.json: key steps: Too small");
    expect(() => load("{ not json")).toThrow("w.json: not valid JSON");
    writeFileSync(join(workspace.dir, "tools/generated/shout/tool.ts"), "export default () => ({ text: 'owned' });\n");
    expect(() => load({ ...base, steps: [{ id: "a", tool: "shout", inputs: { text: "x" } }] })).toThrow(
      'w.json: step "a", key tool: tools/generated/shout/tool.ts is not the file its metadata.json records (sha256 differs); it will not run',
    );
  });

  test("a tool runs from a fresh copy of its tool.ts, checked again: a change after the workflow was checked does not run", async () => {
    using workspace = workflowWorkspace();
    const listing = `import { readdirSync } from "node:fs";\nexport default () => ({ result: readdirSync(import.meta.dir).sort() });\n`;
    writeGeneratedTool(workspace.dir, simpleSpec("list_beside", "Lists the files beside the tool's code."), listing);
    const tools = setup(workspace);
    // The fixed runner no longer lets a tool read files or import.meta (issue 18 §5): it cannot even look.
    const listed = await tools.callTool("list_beside", { text: "x" });
    expect(listed).toMatchObject({ ok: false, reason: "tool" });
    expect(listed.ok ? "" : listed.error).toContain('tool.ts may import only zod, not "node:fs"');

    expect(tools.checkTool("shout")).toBeUndefined();
    writeFileSync(join(workspace.dir, "tools/generated/shout/tool.ts"), "export default () => ({ text: 'owned' });\n");
    const changed = await tools.callTool("shout", { text: "x" });
    expect(changed).toMatchObject({ ok: false, reason: "tool" });
    expect(changed.ok ? "" : changed.error).toContain("tools/generated/shout/tool.ts is not the file its metadata.json records");
  });

  test("runtime reference problems name the step and key, and nothing runs after them", async () => {
    using workspace = workflowWorkspace();
    const file = workspace.write("w.json", {
      name: "w",
      inputs: TEXT_AND_LOUD,
      steps: [{ id: "a", tool: "word_count", if_condition: "$inputs.text", inputs: { text: "$inputs.text" } }],
      output: null,
    });
    const graph = loadWorkflowGraph(file);
    await expect(runWorkflow(graph, { text: "hi", loud: true }, { callTool: never })).rejects.toThrow(
      'w.json: step "a", key if_condition: $inputs.text is "hi", not true or false',
    );
    await expect(runWorkflow(graph, { text: 5 }, { callTool: never })).rejects.toThrow(
      "w.json: key inputs: the inputs do not match the workflow's inputs schema",
    );
  });
});
