import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { IdleWorkSettings } from "../config/supervise-settings.ts";
import { AUDIT_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { openRoom } from "../room/room.ts";
import { Transcript } from "../room/transcript.ts";
import { readAuditLines } from "../security/audit-log.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { simpleSpec, WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { superviseFixture, webhookSink } from "../testing/supervise-fixture.ts";
import { testSandbox, testSandboxAccess } from "../testing/test-sandbox.ts";
import { ChatError } from "../llm/chat-errors.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { REPORTS_DIR } from "./daily-report.ts";
import { recordOutcome, updateScheduleStates } from "./schedule-state.ts";
import { recordWorkflowRun } from "./workflow-run-session.ts";
import { diagnosisModel } from "./diagnose-incident.ts";
import { personSince } from "./idle-run.ts";
import { idleWork, idleWorkSettings } from "./idle-work.ts";
import { PROPOSE_NEXT } from "./propose-next.ts";
import { statusLines, superviseStatus } from "./supervise-status.ts";
import { superviseOnce } from "./supervisor.ts";

// Idle work over a workspace with promoted tools: one that holds and one whose held-out example now fails. The round
// runs through `superviseOnce` with no checks (the backup marked as just tried), so what is proven is idle work's own.

const IDLE = { afterMinutes: 5, maxMinutes: 10, maxTokens: 5000, maxActionsPerRound: 10 };
/** The word counter with its held-out example (the spec's last, `{ text: "" }` → 0 words) broken by an off-by-one. */
const BROKEN_CODE = `export default (input: { text: string }) => ({ words: input.text.split(" ").length });\n`;

const sink = webhookSink();
let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer({
    port: 0,
    script: {
      models: ["scripted"],
      rules: [
        {
          when: { tool: PROPOSE_NEXT },
          reply: {
            toolCalls: [
              {
                name: PROPOSE_NEXT,
                arguments: { action: "run_tool", name: "word_count", args: { text: "one two three" }, why: "count a need's words" },
              },
            ],
          },
        },
      ],
    },
  });
});
afterAll(async () => {
  sink.stop();
  await server.stop();
});

const audited = (dir: string, day: string) =>
  readAuditLines(
    readFileSync(join(dir, AUDIT_DIR, `${day}.jsonl`), "utf8")
      .trim()
      .split("\n"),
  ).filter((entry) => entry.tool === "idle-work");

describe("idle work", () => {
  test("off by default: no setting, no flag, no idle work; a workspace's setting waits for 'org config trust'", async () => {
    using fixture = superviseFixture();
    expect(fixture.context.config.supervise.idleWork).toBeUndefined();
    expect(idleWorkSettings(undefined, false)).toBeUndefined();
    expect(idleWorkSettings(undefined, true)).toEqual(IdleWorkSettings.parse({}));
    writeFileSync(join(fixture.dir, "org.config.json"), JSON.stringify({ supervise: { idleWork: IDLE } }));
    const unconfirmed = loadOrgConfig(join(fixture.dir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9" }, { workspaceDir: fixture.dir });
    expect(unconfirmed.supervise.idleWork).toBeUndefined();
    expect(unconfirmed.unconfirmed.map((setting) => setting.setting)).toContain("supervise.idleWork");
    // A round of that workspace does none of it.
    fixture.context.state.set("backup:tried", String(fixture.context.now()));
    const summary = await superviseOnce(
      {
        workspaceDir: fixture.dir,
        repoDir: fixture.dir,
        sandbox: testSandbox,
        loadConfig: () => unconfirmed,
        instance: fixture.context.instance,
        say: () => {},
        now: fixture.context.now,
        checks: [],
        signal: fixture.context.signal,
      },
      fixture.context.state,
    );
    expect(summary.idle).toBeUndefined();
    expect(fixture.context.state.eventsBetween(0, Number.MAX_SAFE_INTEGER).filter((event) => event.kind === "idle")).toEqual([]);
  });

  test("a round tests the held-out examples, asks once, runs the proposal unattended, audits and reports; asks no question twice", async () => {
    using fixture = superviseFixture({ server: server.url });
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(fixture.dir, wordCountSpec("broken_count"), BROKEN_CODE, WORD_COUNT_TESTS);
    const config = fixture.configure({ supervise: { idleWork: IDLE, webhook: sink.url } });
    fixture.context.state.set("backup:tried", String(fixture.context.now()));
    const setup = {
      workspaceDir: fixture.dir,
      repoDir: fixture.dir,
      sandbox: testSandbox,
      loadConfig: () => config,
      instance: fixture.context.instance,
      say: (line: string) => fixture.lines.push(line),
      now: fixture.context.now,
      diagnosisModel,
      checks: [],
      signal: fixture.context.signal,
    };
    const summary = await superviseOnce(setup, fixture.context.state);
    const asked = () => server.requests.filter((request) => JSON.stringify(request.body).includes(PROPOSE_NEXT)).length;
    expect(summary.idle?.actions.map(({ step, name, ok }) => ({ step, name, ok }))).toEqual([
      { step: "examples", name: "broken_count", ok: false },
      { step: "examples", name: "word_count", ok: true },
      { step: "ask", name: PROPOSE_NEXT, ok: true },
      { step: "proposed", name: "word_count", ok: true },
    ]);
    expect(summary.idle?.actions[0]?.detail).toContain("reported, not rolled back");
    expect(summary.idle?.actions[3]?.detail).toBe('output {"words":3}');
    expect(summary.idle?.tokens).toBeGreaterThan(0);
    expect(asked()).toBe(1);
    // The question carried the failure it was asked about.
    expect(JSON.stringify(server.requests.at(-1)?.body)).toContain("broken_count");
    const day = new Date(fixture.context.now()).toISOString().slice(0, 10);
    expect(audited(fixture.dir, day).map((entry) => [entry.ok, (entry.arguments as { step: string }).step])).toEqual([
      [false, "examples"],
      [true, "examples"],
      [true, "ask"],
      [true, "proposed"],
    ]);
    const report = readFileSync(join(fixture.dir, REPORTS_DIR, `${day}.md`), "utf8");
    expect(report).toContain("## Idle work (4)");
    expect(report).toMatch(/proposed word_count: ok: output \{"words":3\}/);
    const status = statusLines(
      superviseStatus({ workspaceDir: fixture.dir, repoDir: fixture.dir, config }, fixture.context.state, fixture.context.now()),
    );
    expect(status).toContain("idle work: on, after 5 minutes without a person's message (supervise.idleWork)");
    expect(status.at(-1)).toMatch(/ idle work: proposed word_count: ok: output \{"words":3\}$/);

    // The same needs and failures an hour later: the examples run again, the model is not asked again.
    fixture.advance(3_600_000);
    const again = await superviseOnce(setup, fixture.context.state);
    expect(again.idle?.actions.map((action) => action.step)).toEqual(["examples", "examples"]);
    expect(asked()).toBe(1);
    expect(fixture.lines.some((line) => line.includes("not asked again"))).toBe(true);
    // The failing tool went to the webhook once, not once a round.
    const idle = sink.received.filter((message) => message.kind === "idle");
    expect(idle.map((message) => message.text)).toEqual([
      expect.stringContaining("idle work: promoted tool broken_count fails a held-out example for"),
    ]);
  }, 60_000);

  test("an invented tool name is refused after its second try: nothing runs", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const config = fixture.configure({ supervise: { idleWork: IDLE } });
    const model = scriptedModel([
      { toolCalls: [{ name: PROPOSE_NEXT, arguments: { action: "run_tool", name: "delete_everything", args: {}, why: "tidy up" } }] },
    ]);
    const outcome = await idleWork(fixture.context, { settings: IdleWorkSettings.parse(config.supervise.idleWork), model });
    expect(model.requests).toHaveLength(2);
    expect(String(model.requests[1]?.messages.at(-1)?.content)).toContain(
      'there is no tool "delete_everything" that may run unattended; name one of: word_count.',
    );
    expect(outcome.actions.map(({ step, ok }) => ({ step, ok }))).toEqual([
      { step: "examples", ok: true },
      { step: "ask", ok: false },
    ]);
    expect(outcome.actions[1]?.detail).toContain("no usable propose_next call in 2 tries");
  });

  test("without a model, or one whose server does not answer, (a) and (b) run and (c) says why it did not ask", async () => {
    using fixture = superviseFixture();
    const outcome = await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model: undefined });
    expect(outcome).toMatchObject({ ran: true, actions: [], tokens: 0 });
    expect(fixture.lines).toContain("idle work: what next? skipped: no model is configured for the supervisor");
    // With a model but nothing that may run unattended, no question is worth its tokens.
    const model = scriptedModel([{ text: "never asked" }]);
    await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model });
    expect(model.requests).toHaveLength(0);
    expect(fixture.lines.at(-1)).toContain("what next? skipped: no promoted tool or workflow may run unattended here");
    // A model whose server does not answer: said, and asked again the next round (nothing was learnt).
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const away = scriptedModel([{ error: new ChatError("unreachable", "no model server answers at http://127.0.0.1:9") }]);
    const settings = IdleWorkSettings.parse(IDLE);
    const first = await idleWork(fixture.context, { settings, model: away });
    expect(first.actions.at(-1)).toMatchObject({ step: "ask", ok: false, detail: expect.stringContaining("the model did not answer") });
    const second = await idleWork(fixture.context, { settings, model: away });
    expect(second.actions.map((action) => action.step)).toEqual(["examples", "ask"]);
    expect(away.requests).toHaveLength(2);
  });

  test("a person's message mid-round stops it before the next step; a room not yet idle does nothing", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const config = fixture.configure({ supervise: { idleWork: IDLE }, personas: [{ name: "agent", kind: "agent" }] });
    const model = scriptedModel([{ toolCalls: [{ name: PROPOSE_NEXT, arguments: { action: "nothing", why: "all is well" } }] }]);
    const person = scriptedModel([{ text: "hello" }]);
    const outcome = await idleWork(fixture.context, {
      settings: IdleWorkSettings.parse(IDLE),
      model,
      // Before the question, a person writes in a room of this workspace (its own transcript, as the terminal writes it).
      beforeStep: async (step) => {
        if (step !== "ask") return;
        const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir: fixture.dir, tools: [], models: () => person, onEvent() {} });
        try {
          expect((await room.send("I am back")).ok).toBe(true);
        } finally {
          await room.close();
        }
      },
    });
    expect(outcome.stopped).toBe("person");
    expect(model.requests).toHaveLength(0);
    expect(fixture.lines.some((line) => /stopped before ask propose_next: a person wrote at /.test(line))).toBe(true);
    // The next round: the room is not idle for afterMinutes yet, so nothing runs; once the clock passes them, it does.
    expect((await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model })).ran).toBe(false);
    fixture.advance(IDLE.afterMinutes * 60_000 + 60_000);
    expect((await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model })).ran).toBe(true);
  });

  test("the time cap and the token cap stop it", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const answer = {
      toolCalls: [{ name: PROPOSE_NEXT, arguments: { action: "run_tool", name: "word_count", args: { text: "a b" }, why: "try it" } }],
      usage: { promptTokens: 400, completionTokens: 20 },
    };
    // Time: the clock passes maxMinutes while the examples run, so the question is never asked.
    const timed = scriptedModel([answer]);
    const late = await idleWork(fixture.context, {
      settings: IdleWorkSettings.parse(IDLE),
      model: timed,
      beforeStep: (step) => {
        if (step === "ask") fixture.advance(IDLE.maxMinutes * 60_000);
      },
    });
    expect(late).toMatchObject({ stopped: "time", actions: [{ step: "examples", name: "word_count", ok: true }] });
    expect(timed.requests).toHaveLength(0);
    // Tokens: the question costs 420 of 100, so what it proposes is not run.
    const costly = scriptedModel([answer]);
    const spent = await idleWork(fixture.context, { settings: IdleWorkSettings.parse({ ...IDLE, maxTokens: 100 }), model: costly });
    expect(spent).toMatchObject({ stopped: "tokens", tokens: 420 });
    expect(spent.actions.map((action) => action.step)).toEqual(["examples", "ask"]);
    expect(fixture.lines.at(-1)).toContain("supervise.idleWork.maxTokens (100) is reached (420 spent)");
  });

  test("a person's message while the question waits on the model ends the question at once", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    const config = fixture.configure({ supervise: { idleWork: IDLE }, personas: [{ name: "agent", kind: "agent" }] });
    const { promise: asked, resolve: markAsked } = Promise.withResolvers<void>();
    // A model that answers nothing until its request is aborted, as a slow server does.
    const hanging: LanguageModel = {
      ...scriptedModel([{ text: "never" }]),
      stream: (request) =>
        new Promise((_, reject) => {
          markAsked();
          request.signal?.addEventListener("abort", () => reject(request.signal?.reason));
        }),
    };
    const running = idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model: hanging, watchEveryMs: 10 });
    await asked;
    const person = scriptedModel([{ text: "hello" }]);
    const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir: fixture.dir, tools: [], models: () => person, onEvent() {} });
    try {
      expect((await room.send("I am back")).ok).toBe(true);
    } finally {
      await room.close();
    }
    const outcome = await running;
    expect(outcome.stopped).toBe("person");
    expect(outcome.actions.at(-1)).toEqual({
      step: "ask",
      name: PROPOSE_NEXT,
      ok: false,
      detail: expect.stringContaining("the model did not answer"),
    });
    expect(fixture.lines.some((line) => /stopped during propose_next: a person wrote at /.test(line))).toBe(true);
  });

  test("a workflow whose scheduled run failed runs again once, when serve's policy lets it run unattended", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    mkdirSync(join(fixture.dir, "workflows"));
    const workflow = (name: string) => ({
      name,
      inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
      output: { words: "$steps.count.output.words" },
    });
    writeFileSync(join(fixture.dir, "workflows", "count.json"), JSON.stringify(workflow("count")));
    writeFileSync(join(fixture.dir, "workflows", "asked.json"), JSON.stringify(workflow("asked")));
    fixture.configure({
      schedules: {
        nightly: { cron: "0 3 * * *", workflow: "count", inputs: { text: "a b c" } },
        careful: { cron: "0 4 * * *", workflow: "asked", inputs: { text: "x" } },
      },
      serve: { tools: { asked: "ask" } },
    });
    const at = fixture.context.now() - 3_600_000;
    updateScheduleStates(fixture.dir, (states) => {
      for (const name of ["nightly", "careful"])
        recordOutcome(states, { name, sessionName: name, ok: false, summary: "the model server was down" }, { startedAt: at, finishedAt: at });
    });
    const settings = IdleWorkSettings.parse(IDLE);
    const first = await idleWork(fixture.context, { settings, model: undefined });
    expect(first.actions.map(({ step, name, ok, detail }) => ({ step, name, ok, detail }))).toEqual([
      { step: "examples", name: "word_count", ok: true, detail: "1 held-out example(s) pass" },
      { step: "workflows", name: "count", ok: true, detail: 'ran again for schedule nightly: {"words":3}' },
    ]);
    expect(fixture.lines.some((line) => line.includes("workflow asked of schedule careful is not run again: it may not run unattended"))).toBe(true);
    // The same failure is not run again by the next round.
    const second = await idleWork(fixture.context, { settings: { ...settings, maxActionsPerRound: 1 }, model: undefined });
    expect(second.actions.map((action) => action.step)).toEqual(["examples"]);
  });
  test("a failing example's output is redacted before it is cut: no secret's first characters reach the log or the webhook", async () => {
    using fixture = superviseFixture();
    const secret = "sk-idle-0123456789abcdefghijklmnopqrstuv";
    // The output's JSON has the secret begin 10 characters before the 200 a failure quotes of it.
    const code = `export default () => ({ result: "${"x".repeat(179)}${secret}" });\n`;
    writeGeneratedTool(fixture.dir, simpleSpec("leaky", "Echoes its text back."), code);
    fixture.configure({ supervise: { idleWork: IDLE, webhook: sink.url } });
    fixture.context.config.secrets.push(secret);
    const outcome = await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model: undefined });
    expect(outcome.actions.map(({ step, ok }) => [step, ok])).toEqual([["examples", false]]);
    const day = new Date(fixture.context.now()).toISOString().slice(0, 10);
    const said = [
      ...fixture.lines,
      ...outcome.actions.map((action) => action.detail),
      JSON.stringify(audited(fixture.dir, day)),
      ...sink.received.map((message) => JSON.stringify(message)),
    ].join("\n");
    expect(said).toContain("leaky");
    expect(said).not.toContain(secret.slice(0, 8));
  });
  test("a person going on in a schedule's session is a person; the schedule's own message is not", () => {
    using fixture = superviseFixture();
    fixture.configure({ schedules: { news: { cron: "0 8 * * *", to: "agent", message: "What changed?", session: "mornings" } } });
    const now = fixture.context.now();
    updateScheduleStates(fixture.dir, (states) =>
      recordOutcome(
        states,
        { name: "news", sessionName: "mornings", ok: true, summary: "ok", sessionId: "s-mornings" },
        { startedAt: now, finishedAt: now },
      ),
    );
    const turn = (at: number, text: string) =>
      JSON.stringify({ time: new Date(at).toISOString(), type: "turn-start", turnId: "t", text, mode: "direct:agent", addressed: [] });
    const path = join(fixture.dir, SESSIONS_DIR, "s-mornings.jsonl");
    mkdirSync(join(fixture.dir, SESSIONS_DIR), { recursive: true });
    writeFileSync(path, `${turn(now - 60_000, "What changed?")}\n`);
    expect(personSince(fixture.context, now - 300_000)).toBeUndefined();
    writeFileSync(path, `${turn(now - 60_000, "What changed?")}\n${turn(now - 30_000, "and the tests?")}\n`);
    expect(personSince(fixture.context, now - 300_000)).toBe(now - 30_000);
  });
  test("a workflow schedule's recorded run is not a person in its session; a person going on there is", () => {
    using fixture = superviseFixture();
    const entry = { cron: "30 2 * * *", workflow: "count", inputs: { text: "one two" } };
    fixture.configure({ schedules: { nightly: entry } });
    const sessionsDir = join(fixture.dir, SESSIONS_DIR);
    const sessionId = recordWorkflowRun(
      { sessionsDir },
      undefined,
      { schedule: "nightly", ...entry, ok: true, output: { words: 2 }, durationMs: 5 },
      fixture.context.config.secrets,
    );
    const now = Date.now();
    updateScheduleStates(fixture.dir, (states) =>
      recordOutcome(states, { name: "nightly", sessionName: "nightly", ok: true, summary: "ok", sessionId }, { startedAt: now, finishedAt: now }),
    );
    // The transcript's lines carry the real clock's time: the check runs on it too.
    const context = { ...fixture.context, now: () => now + 1_000 };
    const since = now - 300_000;
    expect(personSince(context, since)).toBeUndefined();
    const transcript = Transcript.open(sessionsDir, sessionId, { personas: [], mode: "group" });
    transcript.append({ type: "turn-start", turnId: "t", text: "what did it count?", mode: "group", addressed: [] });
    transcript.close();
    expect(personSince(context, since)).toBeGreaterThan(since);
  });
  test("a promoted tool that may not run unattended (serve.tools: ask or deny) has no examples run by idle work", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(fixture.dir, wordCountSpec("asked_count"), BROKEN_CODE, WORD_COUNT_TESTS);
    writeGeneratedTool(fixture.dir, wordCountSpec("denied_count"), BROKEN_CODE, WORD_COUNT_TESTS);
    fixture.configure({ serve: { tools: { asked_count: "ask", denied_count: "deny" } } });
    const outcome = await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model: undefined });
    expect(outcome.actions.map(({ step, name, ok }) => [step, name, ok])).toEqual([["examples", "word_count", true]]);
  });
  test("a model that streams text instead of the call is cut near what is left of maxTokens, not long after it", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    fixture.configure({});
    // About 25,000 tokens of prose, streamed in pieces, with no usage: each answer would be counted whole.
    const model = scriptedModel([{ text: Array.from({ length: 1000 }, () => `${"words and more words, ".repeat(4)}\n`) }]);
    const settings = IdleWorkSettings.parse({ ...IDLE, maxTokens: 2000 });
    const outcome = await idleWork(fixture.context, { settings, model });
    expect(model.requests.length).toBeGreaterThan(0);
    expect(model.requests.every((request) => (request.stopAt?.tokens ?? Number.POSITIVE_INFINITY) <= 2000)).toBe(true);
    // At most the prompt and one call's room past the cap (uncut, the two answers came to tens of thousands).
    expect(outcome.tokens).toBeGreaterThan(0);
    expect(outcome.tokens).toBeLessThanOrEqual(4000);
  });
  test("with today's limits.tokensPerDay spent by the sessions, idle work asks no model", async () => {
    using fixture = superviseFixture();
    writeGeneratedTool(fixture.dir, wordCountSpec(), WORD_COUNT_CODE, WORD_COUNT_TESTS);
    fixture.configure({ limits: { tokensPerDay: 40 } });
    const stats = { replies: 1, promptTokens: 30, completionTokens: 12, tokensPerSecond: 1, firstTokenMs: 1, queuedMs: 0, durationMs: 1 };
    const end = { time: new Date(fixture.context.now() - 1000).toISOString(), type: "reply-end", replyId: "r", persona: "agent", ok: true, stats };
    mkdirSync(join(fixture.dir, SESSIONS_DIR), { recursive: true });
    writeFileSync(join(fixture.dir, SESSIONS_DIR, "s-day.jsonl"), `${JSON.stringify(end)}\n`);
    const model = scriptedModel([{ text: "never asked" }]);
    const outcome = await idleWork(fixture.context, { settings: IdleWorkSettings.parse(IDLE), model });
    expect(model.requests).toHaveLength(0);
    expect(outcome.actions.map((action) => action.step)).toEqual(["examples"]);
    expect(fixture.lines.some((line) => line.includes("what next? skipped: today's token budget is spent (42 of 40"))).toBe(true);
  });
});
