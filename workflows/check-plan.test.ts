import { describe, expect, test } from "bun:test";
import { checkPlan, type PlanFacts, type PlanTool, planErrorLine } from "./check-plan.ts";
import { parseWorkflow, type Workflow } from "./workflow-file.ts";

const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: "object", properties, required });

const TOOLS = new Map<string, PlanTool>([
  [
    "split_lines",
    { inputSchema: object({ text: { type: "string" } }), outputSchema: object({ lines: { type: "array", items: { type: "string" } } }) },
  ],
  ["word_count", { inputSchema: object({ text: { type: "string" } }), outputSchema: object({ words: { type: "integer" } }) }],
  ["square", { inputSchema: object({ number: { type: "number" } }), outputSchema: object({ result: { type: "number" } }) }],
  ["sum_list", { inputSchema: object({ numbers: { type: "array", items: { type: "number" } } }), outputSchema: object({ sum: { type: "number" } }) }],
  [
    "shout",
    { inputSchema: object({ text: { type: "string" }, times: { type: "integer" } }, ["text"]), outputSchema: object({ text: { type: "string" } }) },
  ],
  ["is_long", { inputSchema: object({ text: { type: "string" } }), outputSchema: object({ long: { type: "boolean" } }) }],
  ["pick_mode", { inputSchema: object({ mode: { type: "string", enum: ["upper", "lower"] } }), outputSchema: object({ ok: { type: "boolean" } }) }],
  ["label", { inputSchema: object({ level: { type: "integer" } }), outputSchema: object({ label: { type: "string", enum: ["low", "high"] } }) }],
  [
    "nickname",
    { inputSchema: object({ text: { type: "string" } }), outputSchema: { type: "object", properties: { nick: { type: "string" } }, required: [] } },
  ],
]);

const plan = (value: Record<string, unknown>): Workflow =>
  parseWorkflow(JSON.stringify({ name: "plan", inputs: object({ text: { type: "string" } }), output: {}, ...value }), "plan");

const facts = (extra: Partial<PlanFacts> = {}): PlanFacts => ({ tools: TOOLS, workflows: new Map(), maxSteps: 12, ...extra });

describe("a plan whose types meet", () => {
  test("a one-step plan and a three-step chain with a foreach pass", () => {
    expect(
      checkPlan(
        plan({ steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }], output: { words: "$steps.count.output.words" } }),
        facts(),
      ),
    ).toEqual([]);
    const chain = plan({
      steps: [
        { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
        { id: "count", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
        { id: "loud", tool: "shout", inputs: { text: "${inputs.text}!", times: 2 } },
      ],
      output: { per_line: "$steps.count.output", first: "$steps.count.output.0.words", loud: "$steps.loud.output.text" },
    });
    expect(checkPlan(chain, facts({ inputs: { text: "a b\nc" } }))).toEqual([]);
  });

  test("an integer feeds a number; a boolean output drives if_condition", () => {
    const workflow = plan({
      steps: [
        { id: "count", tool: "word_count", inputs: { text: "$inputs.text" } },
        { id: "sq", tool: "square", inputs: { number: "$steps.count.output.words" } },
        { id: "long", tool: "is_long", inputs: { text: "$inputs.text" } },
        { id: "loud", tool: "shout", if_condition: "$steps.long.output.long", inputs: { text: "$inputs.text" } },
      ],
    });
    expect(checkPlan(workflow, facts())).toEqual([]);
  });
});

describe("a plan refused, each error naming the step, the key, what was expected and what was given", () => {
  test("a string into a number", () => {
    const errors = checkPlan(plan({ steps: [{ id: "sq", tool: "square", inputs: { number: "$inputs.text" } }] }), facts());
    expect(errors).toEqual([expect.objectContaining({ step: "sq", key: "inputs.number", expected: "number", given: "string" })]);
    expect(planErrorLine(errors[0] ?? { key: "", message: "" })).toBe(
      'step "sq", key inputs.number: expected number, given string (from $inputs.text)',
    );
  });

  test("a number into an integer, and a text literal into a number", () => {
    const errors = checkPlan(
      plan({
        steps: [
          { id: "sq", tool: "square", inputs: { number: 3 } },
          { id: "loud", tool: "shout", inputs: { text: "$inputs.text", times: "$steps.sq.output.result" } },
          { id: "sq2", tool: "square", inputs: { number: "five" } },
        ],
      }),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key, error.expected, error.given])).toEqual([
      ["loud", "inputs.times", "integer", "number"],
      ["sq2", "inputs.number", "number", 'string "five"'],
    ]);
  });

  test("an array only into foreach or an array input", () => {
    const errors = checkPlan(
      plan({
        steps: [
          { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
          { id: "count", tool: "word_count", inputs: { text: "$steps.split.output.lines" } },
          { id: "each", tool: "word_count", foreach: "$inputs.text", inputs: { text: "$item" } },
          { id: "counts", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
          { id: "total", tool: "sum_list", inputs: { numbers: "$steps.counts.output" } },
        ],
      }),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key])).toEqual([
      ["count", "inputs.text"],
      ["each", "foreach"],
      ["total", "inputs.numbers"],
    ]);
    expect(errors[0]?.message).toContain("expected string, given an array of string");
    expect(errors[2]?.message).toContain("array items");
  });

  test("a required input not fed, an input the tool does not take, a value outside an enum", () => {
    const errors = checkPlan(
      plan({
        steps: [
          { id: "loud", tool: "shout", inputs: { times: 2 } },
          { id: "count", tool: "word_count", inputs: { text: "$inputs.text", txt: "$inputs.text" } },
          { id: "mode", tool: "pick_mode", inputs: { mode: "shouty" } },
        ],
      }),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key])).toEqual([
      ["loud", "inputs.text"],
      ["count", "inputs.txt"],
      ["mode", "inputs.mode"],
    ]);
    expect(errors[0]?.message).toBe('shout requires the input "text", and the step does not feed it');
    expect(errors[1]?.message).toBe('word_count takes no input "txt" (it takes text)');
    expect(errors[2]?.message).toContain('expected one of "upper", "lower", given "shouty"');
  });

  test("a field a step's output does not have, an input the workflow does not have, a condition that is not a boolean", () => {
    const errors = checkPlan(
      plan({
        steps: [
          { id: "count", tool: "word_count", inputs: { text: "$inputs.text" } },
          { id: "sq", tool: "square", inputs: { number: "$steps.count.output.count" } },
          { id: "loud", tool: "shout", if_condition: "$steps.count.output.words", inputs: { text: "${steps.count.output.nope} words" } },
        ],
        output: { deep: "$inputs.text.length" },
      }),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key])).toEqual([
      ["sq", "inputs.number"],
      ["loud", "if_condition"],
      ["loud", "inputs.text"],
      [undefined, "output.deep"],
    ]);
    expect(errors[0]?.message).toBe('$steps.count.output.count reads nothing: the output of step "count": has no field "count" (it has words)');
  });

  test("a tool not offered, a saved workflow there is none of, too many steps", () => {
    expect(checkPlan(plan({ steps: [{ id: "x", tool: "make_coffee", inputs: {} }] }), facts())[0]).toMatchObject({
      step: "x",
      key: "tool",
      given: "make_coffee",
    });
    expect(checkPlan(plan({ steps: [{ id: "x", workflow: "nope.json", inputs: {} }] }), facts())[0]).toMatchObject({ step: "x", key: "workflow" });
    const many = Array.from({ length: 13 }, (_, index) => ({ id: `s${index}`, tool: "word_count", inputs: { text: "$inputs.text" } }));
    expect(checkPlan(plan({ steps: many }), facts())[0]).toMatchObject({ key: "steps", expected: "at most 12 steps", given: "13" });
  });

  test("workflow check's own checks stand: a step that reads a later one", () => {
    const errors = checkPlan(
      plan({
        steps: [
          { id: "a", tool: "word_count", inputs: { text: "$steps.b.output.text" } },
          { id: "b", tool: "shout", inputs: { text: "$inputs.text" } },
        ],
      }),
      facts(),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ step: "a", key: "inputs.text" });
    expect(errors[0]?.message).toContain("does not run before this one");
  });

  test("the inputs it will run on must fit its inputs schema", () => {
    const errors = checkPlan(
      plan({ steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }] }),
      facts({ inputs: { text: 5 } }),
    );
    expect(errors).toEqual([expect.objectContaining({ key: "--inputs.text" })]);
  });
});

describe("a nested saved workflow", () => {
  const total = parseWorkflow(
    JSON.stringify({
      name: "total",
      inputs: object({ text: { type: "string" } }),
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
      output: { words: "$steps.count.output.words", label: "${steps.count.output.words} words" },
    }),
    "total.json",
  );

  test("takes its inputs schema and gives the output its template makes", () => {
    const workflows = new Map([["total.json", total]]);
    const ok = plan({
      steps: [
        { id: "t", workflow: "total.json", inputs: { text: "$inputs.text" } },
        { id: "sq", tool: "square", inputs: { number: "$steps.t.output.words" } },
      ],
    });
    expect(checkPlan(ok, facts({ workflows }))).toEqual([]);
    const wrong = plan({
      steps: [
        { id: "t", workflow: "total.json", inputs: { text: 3 } },
        { id: "sq", tool: "square", inputs: { number: "$steps.t.output.label" } },
      ],
    });
    expect(checkPlan(wrong, facts({ workflows })).map((error) => [error.step, error.key, error.expected, error.given])).toEqual([
      ["t", "inputs.text", "string", "integer 3"],
      ["sq", "inputs.number", "number", "string"],
    ]);
  });
});

describe("what a run could not feed: refused before it runs", () => {
  test("a conditional step's output into a required input (fine under the same condition); an optional field; an optional plan input", () => {
    const errors = checkPlan(
      parseWorkflow(
        JSON.stringify({
          name: "plan",
          inputs: {
            type: "object",
            properties: { text: { type: "string" }, loud: { type: "boolean" }, extra: { type: "string" } },
            required: ["text", "loud"],
          },
          steps: [
            { id: "loud", tool: "shout", if_condition: "$inputs.loud", inputs: { text: "$inputs.text" } },
            { id: "count", tool: "word_count", inputs: { text: "$steps.loud.output.text" } },
            { id: "again", tool: "shout", if_condition: "$inputs.loud", inputs: { text: "$steps.loud.output.text" } },
            { id: "nick", tool: "nickname", inputs: { text: "$inputs.text" } },
            { id: "nicked", tool: "shout", inputs: { text: "$steps.nick.output.nick" } },
            { id: "more", tool: "shout", inputs: { text: "$inputs.extra" } },
          ],
          output: { maybe: "$steps.loud.output.text" },
        }),
        "plan",
      ),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key])).toEqual([
      ["count", "inputs.text"],
      ["nicked", "inputs.text"],
      ["more", "inputs.text"],
    ]);
    expect(errors[0]?.message).toContain('step "loud" runs only if $inputs.loud');
    expect(errors[1]?.message).toContain("nick is not required");
    expect(errors[2]?.message).toContain("extra is not required");
  });

  test("every item of a literal list, an enum into an enum, a plan input its schema does not declare, an MCP tool nobody offered", () => {
    const errors = checkPlan(
      parseWorkflow(
        JSON.stringify({
          name: "plan",
          inputs: { type: "object" },
          steps: [
            { id: "total", tool: "sum_list", inputs: { numbers: [1, "two", { three: 3 }] } },
            { id: "lab", tool: "label", inputs: { level: 2 } },
            { id: "mode", tool: "pick_mode", inputs: { mode: "$steps.lab.output.label" } },
            { id: "sq", tool: "square", inputs: { number: "$inputs.whatever" } },
          ],
          output: {},
        }),
        "plan",
      ),
      facts(),
    );
    expect(errors.map((error) => [error.step, error.key])).toEqual([
      ["total", "inputs.numbers"],
      ["mode", "inputs.mode"],
      ["sq", "inputs.number"],
    ]);
    expect(errors[1]?.message).toContain('given "low" or "high"');
    expect(errors[2]?.message).toContain("does not declare");
    const mcp = checkPlan(plan({ steps: [{ id: "x", tool: "evil__exfiltrate", inputs: {} }] }), facts());
    expect(mcp[0]).toMatchObject({ step: "x", key: "tool", given: "evil__exfiltrate" });
  });
});
