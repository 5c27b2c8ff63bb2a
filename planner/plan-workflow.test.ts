import { describe, expect, test } from "bun:test";
import { scriptedModel } from "../llm/scripted-model.ts";
import type { CatalogTool } from "./plan-catalog.ts";
import { type PlanRound, planWorkflow } from "./plan-workflow.ts";

const object = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });
const tool = (name: string, input: Record<string, unknown>, output: Record<string, unknown>): CatalogTool => ({
  name,
  description: `the ${name} tool`,
  inputSchema: object(input),
  outputSchema: object(output),
  origin: "promoted",
});
const TOOLS = [
  tool("square", { number: { type: "number" } }, { result: { type: "number" } }),
  tool("word_count", { text: { type: "string" } }, { words: { type: "integer" } }),
];

const good = {
  name: "square a number",
  inputs: object({ number: { type: "number" } }),
  steps: [{ id: "sq", tool: "square", inputs: { number: "$inputs.number" } }],
  output: { result: "$steps.sq.output.result" },
};
const typeError = { ...good, inputs: object({ number: { type: "string" } }) };

const request = (script: Parameters<typeof scriptedModel>[0], rounds: PlanRound[] = []) => ({
  goal: "calculate the square of 5",
  inputs: { number: 5 },
  tools: TOOLS,
  workflows: new Map(),
  model: scriptedModel(script),
  settings: { planRepairs: 2, maxPlanSteps: 12 },
  onRound: (event: PlanRound) => rounds.push(event),
});

describe("planning with one offered tool", () => {
  test("a plan that checks is taken in the first round; the planner was offered exactly submit_workflow", async () => {
    const planning = request([{ toolCalls: [{ name: "submit_workflow", arguments: good }] }]);
    const outcome = await planWorkflow(planning);
    expect(outcome).toMatchObject({ kind: "planned", rounds: 1, workflow: { steps: [{ id: "sq", tool: "square" }] } });
    const [sent] = planning.model.requests;
    expect(sent?.tools?.map((entry) => entry.function.name)).toEqual(["submit_workflow"]);
    const prompt = sent?.messages.map((message) => message.content).join("\n") ?? "";
    expect(prompt).toContain("Goal: calculate the square of 5");
    expect(prompt).toContain('"name":"square"');
    expect(prompt).toContain('{"number":5}');
  });

  test("a type error goes back with the step, key, expected and given, and the second plan is taken", async () => {
    const rounds: PlanRound[] = [];
    const planning = request(
      [{ toolCalls: [{ name: "submit_workflow", arguments: typeError }] }, { toolCalls: [{ name: "submit_workflow", arguments: good }] }],
      rounds,
    );
    const outcome = await planWorkflow(planning);
    expect(outcome).toMatchObject({ kind: "planned", rounds: 2 });
    expect(rounds.map((round) => round.outcome)).toEqual(["refused", "accepted"]);
    const feedback = planning.model.requests[1]?.messages.at(-1)?.content ?? "";
    expect(feedback).toContain('step "sq", key inputs.number: expected number, given string (from $inputs.number)');
    expect(feedback).toContain("--inputs.number");
  });

  test("small models' habits: a call written in a fence, steps sent as a JSON text, keys out of order", async () => {
    const quoted = { output: good.output, steps: JSON.stringify(good.steps), name: good.name, inputs: JSON.stringify(good.inputs) };
    const text = `Sure! Here is the plan:\n\`\`\`json\n${JSON.stringify({ name: "submit_workflow", arguments: quoted })}\n\`\`\`\nLet me know.`;
    const outcome = await planWorkflow(request([{ text }]));
    expect(outcome).toMatchObject({ kind: "planned", rounds: 1 });
  });

  test("three refused plans: refused with the last errors, no fourth request", async () => {
    const planning = request([{ toolCalls: [{ name: "submit_workflow", arguments: typeError }] }]);
    const outcome = await planWorkflow(planning);
    expect(outcome.kind).toBe("refused");
    expect(outcome.rounds).toBe(3);
    expect(planning.model.requests).toHaveLength(3);
    if (outcome.kind === "refused") expect(outcome.errors[0]).toMatchObject({ step: "sq", key: "inputs.number" });
  });

  test("a planner that never calls submit_workflow: one reminder, then silent (two requests in all)", async () => {
    const planning = request([{ text: "I would square the number with the square tool." }]);
    const outcome = await planWorkflow(planning);
    expect(outcome).toMatchObject({ kind: "silent", said: "I would square the number with the square tool." });
    expect(planning.model.requests).toHaveLength(2);
  });

  test("missing steps end planning with what is missing", async () => {
    const missing = { ...good, steps: [], missing: [{ id: "cube", goal: "raise a number to the third power" }] };
    const outcome = await planWorkflow(request([{ toolCalls: [{ name: "submit_workflow", arguments: missing }] }]));
    expect(outcome).toMatchObject({ kind: "missing", missing: [{ id: "cube", goal: "raise a number to the third power" }] });
  });

  test("a tool that was not offered is refused by name, not run", async () => {
    const wrong = { ...good, steps: [{ id: "sq", tool: "cube", inputs: { number: "$inputs.number" } }] };
    const outcome = await planWorkflow({
      ...request([{ toolCalls: [{ name: "submit_workflow", arguments: wrong }] }]),
      settings: { planRepairs: 0, maxPlanSteps: 12 },
    });
    expect(outcome.kind).toBe("refused");
    if (outcome.kind === "refused") expect(outcome.errors[0]?.message).toContain("names the tool cube, which was not offered");
  });

  test("a refused plan goes back with the plan itself; a planner that then stops calling ends refused, with those errors", async () => {
    const planning = request([{ toolCalls: [{ name: "submit_workflow", arguments: typeError }] }, { text: "Let me think about it." }]);
    const outcome = await planWorkflow(planning);
    expect(outcome.kind).toBe("refused");
    if (outcome.kind === "refused") expect(outcome.errors[0]).toMatchObject({ step: "sq", key: "inputs.number" });
    const history = planning.model.requests[1]?.messages ?? [];
    expect(history.at(-2)?.content).toContain('submit_workflow({"name":"square a number"');
    expect(history.at(-1)?.content).toContain("was refused");
  });

  test("a call of another tool is named in the reminder; the arguments alone in a fence are read as the call", async () => {
    const planning = request([
      { toolCalls: [{ name: "square", arguments: { number: 5 } }] },
      { text: `Here:\n\`\`\`json\n${JSON.stringify(good)}\n\`\`\`` },
    ]);
    const outcome = await planWorkflow(planning);
    expect(outcome).toMatchObject({ kind: "planned", rounds: 1 });
    expect(planning.model.requests[1]?.messages.at(-1)?.content).toContain("You called square, which does not exist here");
  });
});
