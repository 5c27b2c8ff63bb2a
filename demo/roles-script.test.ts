// The bundled roles (demo/roles-script.json) answer org's own requests, sent by org's own code over a real socket, with
// what those requests hold: a plan from the tools listed and checked by org's plan check, needs only where a person
// asked and the room could not and whose quotes org finds in the turn, paraphrases merged, a diagnosis that quotes the
// excerpt and names a fix its target allows; and words, not a made-up call, for what they cannot do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import { hearNeeds } from "../grow/hear-needs.ts";
import type { HeardTurn } from "../grow/room-needs.ts";
import { sameNeedQuestions } from "../grow/same-need-question.ts";
import { httpModel } from "../llm/http-model.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { CatalogTool } from "../planner/plan-catalog.ts";
import { planWorkflow } from "../planner/plan-workflow.ts";
import { scriptFiles } from "../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../scripted-server/script.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { diagnoseIncident } from "../supervise/diagnose-incident.ts";
import type { IncidentRow } from "../supervise/supervisor-state.ts";
import { superviseFixture } from "../testing/supervise-fixture.ts";
import { SPLIT_LINES, SUM, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { ROLES_SCRIPT_FILE, rolesScriptJson } from "./roles-script.ts";

let server: ScriptedServer;
let model: LanguageModel;

beforeAll(async () => {
  // The playground as `--script playground` reads it: the roles first, then its personas and the toolsmith.
  server = await startScriptedServer({ script: mergeScripts(await Promise.all(scriptFiles("playground").map((file) => loadScript(file)))) });
  model = httpModel({ server: server.url, modelId: "scripted" });
});
afterAll(async () => {
  await server?.stop();
});

/** A fixture's tool as the registry offers it to the planner. */
const offered = (spec: Record<string, unknown>): CatalogTool => {
  const tool = spec as unknown as ToolSpec;
  return { name: tool.name, description: tool.description, inputSchema: tool.input_schema, outputSchema: tool.output_schema, origin: "promoted" };
};
const plan = (goal: string, tools: CatalogTool[], inputs?: Record<string, unknown>) =>
  planWorkflow({ goal, tools, workflows: new Map(), model, settings: { planRepairs: 2, maxPlanSteps: 12 }, ...(inputs ? { inputs } : {}) });

describe("the bundled roles", () => {
  test("the file is the generator's: run 'bun demo/roles-script.ts' after changing it or the scripted toolsmith", () => {
    expect(readFileSync(ROLES_SCRIPT_FILE, "utf8")).toBe(rolesScriptJson());
  });

  test("the planner composes the tools it is offered, which org's check accepts, and names what none of them does", async () => {
    const both = await plan("count the words on each line of a text", [offered(WORD_COUNT.spec), offered(SPLIT_LINES.spec), offered(SUM.spec)], {
      text: "one two\nthree",
    });
    expect(both.kind).toBe("planned");
    if (both.kind !== "planned") return;
    expect(both.rounds).toBe(1);
    expect(both.workflow.steps).toEqual([
      { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
      { id: "word_count", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
    ]);
    // Offered nothing that splits, it names that step; offered nothing at all, both.
    const half = await plan("count the words on each line of a text", [offered(WORD_COUNT.spec)]);
    expect(half.kind === "missing" ? half.missing : half).toEqual([{ id: "split_lines", goal: "split a text into its lines" }]);
    const none = await plan("count the words on each line of a text", []);
    expect(none.kind === "missing" ? none.missing : none).toEqual([
      { id: "split_lines", goal: "split a text into its lines" },
      { id: "count_words", goal: "count the words in a text" },
    ]);
    // Two jobs, one of them on the whole text, the input named as --inputs names it.
    const two = await plan("count the words on each line, and add up the numbers", [offered(WORD_COUNT.spec), offered(SPLIT_LINES.spec)], {
      body: "a b",
    });
    expect(two.kind === "missing" ? { steps: two.workflow.steps.map((step) => step.id), missing: two.missing } : two).toEqual({
      steps: ["split", "word_count"],
      missing: [{ id: "add_numbers", goal: "add up the numbers in a text" }],
    });
  });

  test("a goal the planner cannot read as a job gets words saying so, not a made-up plan", async () => {
    const silent = await plan("???", [offered(WORD_COUNT.spec)]);
    expect(silent.kind).toBe("silent");
    expect(silent.kind === "silent" ? silent.said : "").toContain("I am the scripted planner, not a model");
  });

  test("the listener hears a person's ask for a job the room could not do, quoting the person; not a refusal about a setting", async () => {
    const turn = (id: string, pieces: HeardTurn["pieces"]): HeardTurn => ({ session: "s1", turn: id, time: "2026-11-26T10:00:00Z", at: 0, pieces });
    const refused = 'I am the playground\'s scripted agent, not a model: I answer "look around", "run the tests" and "write notes".';
    const hearing = await hearNeeds(
      [
        turn("t1", [
          { source: "user", who: "user", text: "@agent how many words are in 'the cat sat on the mat'?" },
          { source: "persona", who: "agent", text: refused },
        ]),
        turn("t2", [
          { source: "user", who: "user", text: "@agent write notes" },
          {
            source: "persona",
            who: "agent",
            text: 'I could not write NOTES.md: /workspace is read-only in this room (sandbox.workspace is "read", the default).',
          },
        ]),
        // Asked, and done: the agent ran it, so there is no need.
        turn("t3", [
          { source: "user", who: "user", text: "count the words of the README" },
          { source: "persona", who: "agent", text: "The README has 12 words." },
        ]),
        // The words of a job, but in a persona's reply: never a person's ask.
        turn("t4", [
          { source: "user", who: "user", text: "hello" },
          { source: "persona", who: "agent", text: `${refused} Ask me to add up a list of numbers, and I still cannot.` },
        ]),
      ],
      model,
      AbortSignal.timeout(60_000),
    );
    expect({ byModel: hearing.byModel, degraded: hearing.degraded, dropped: hearing.dropped }).toEqual({ byModel: 1, degraded: [], dropped: 0 });
    expect(hearing.needs.map((need) => ({ goal: need.goal, turn: need.turn, quote: need.quote }))).toEqual([
      { goal: "count the words in a text", turn: "t1", quote: "@agent how many words are in 'the cat sat on the mat'?" },
    ]);
  });

  test("the merge question says one tool does two paraphrases of a job, and not two jobs that share words", async () => {
    const questions = sameNeedQuestions(model, AbortSignal.timeout(60_000));
    expect(await questions.ask("count the words in a text", "how many words are in this line?")).toBe(true);
    expect(await questions.ask("count the words in a text", "count the vowels in a text")).toBe(false);
    expect(questions.degraded).toEqual([]);
  });

  test("the diagnosis quotes the excerpt line it knows and names a fix whose target org takes; an excerpt it does not know gets words", async () => {
    using fixture = superviseFixture({ server: server.url });
    const incident = (excerpt: string): IncidentRow => ({
      id: "i0000000001",
      pattern: "novel",
      key: "novel:n0000000001",
      state: "open",
      title: "repeated error: grow reports",
      detail: "3 times within 1 min",
      excerpt,
      diagnosis: null,
      openedAt: 0,
      updatedAt: 0,
      resolvedAt: null,
      seen: 3,
    });
    const known = await diagnoseIncident(
      incident(
        "2026-11-26T10:00:00Z grow run failed: the listener's model server failed: no model server answers at http://127.0.0.1:9 (ECONNREFUSED)\n2026-11-26T10:01:00Z grow run failed: the same",
      ),
      model,
      fixture.context,
    );
    expect("diagnosis" in known ? { action: known.diagnosis.action, target: known.diagnosis.target, quote: known.diagnosis.quote } : known).toEqual({
      action: "pause-grow",
      target: "grow",
      quote: "2026-11-26T10:00:00Z grow run failed: the listener's model server failed: no model server answers at http://127.0.0.1:9 (ECONNREFUSED)",
    });
    const unknown = await diagnoseIncident(incident("render step failed: token [REDACTED] rejected by upstream"), model, fixture.context);
    // It answered in words, saying what it knows, and made no call: the incident waits for a person.
    expect("problem" in unknown ? unknown.problem : unknown).toContain("you did not call propose_fix");
    // A tool it knows by name, but that org's judgement does not find failing: the target is refused, twice, and said.
    const tool = await diagnoseIncident(incident("tool weird_tool failed to run"), model, fixture.context);
    expect("problem" in tool ? tool.problem : tool).toContain("hand-to-grow cannot take that target");
  });
});
