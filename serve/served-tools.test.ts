import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeGeneratedTool } from "../testing/generated-tool-files.ts";
import { parseSse, post, serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { ServedTools } from "./served-tools.ts";
import { sessionApiSchemas } from "./session-api.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";

const BASE = "http://org.test";
const GREETING = { rules: [{ reply: { text: "hello" } }] };
const repos: { [Symbol.dispose](): void }[] = [];
afterEach(() => {
  for (const repo of repos.splice(0)) repo[Symbol.dispose]();
});

function repo() {
  const made = tempGitRepo("org-served-tools-");
  repos.push(made);
  return made.dir;
}

function commitAll(dir: string, message: string): string {
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", message]);
  return gitSync(dir, ["rev-parse", "HEAD"]).trim();
}

describe("generated tools of the checkout", () => {
  // One checkout with word_count promoted, for the tests that only read it (each serves it with its own workspace).
  let promoted: { dir: string } & Disposable;
  beforeAll(() => {
    promoted = tempGitRepo("org-served-tools-promoted-");
    chmodSync(promoted.dir, 0o755);
    writeGeneratedTool(promoted.dir, "word_count");
    commitAll(promoted.dir, "add word_count");
  });
  afterAll(() => promoted[Symbol.dispose]());

  test("a promoted tool is listed and runs over HTTP in the real sandbox", async () => {
    const dir = promoted.dir;
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: dir, serve: { tools: { word_count: "allow" } } });
    const listing = (await (await fixture.handler.fetch(new Request(`${BASE}/v1/tools`))).json()) as { tools: { name: string; origin: string }[] };
    expect(listing.tools.map((tool) => `${tool.name}:${tool.origin}`)).toEqual(["sh:built-in", "python_run:built-in", "word_count:generated"]);
    const ran = await fixture.handler.fetch(post(`${BASE}/v1/tools/word_count/run`, { inputs: { text: "one two three" } }));
    expect(await ran.json()).toMatchObject({ ok: true, output: '{"words":3}', data: { words: 3 } });
    const wrong = await fixture.handler.fetch(post(`${BASE}/v1/tools/word_count/run`, { inputs: { text: 5 } }));
    expect(wrong.status).toBe(400);
  });

  test("by default a generated tool runs over HTTP (the gate's tool scenarios need it); serve.generatedTools ask turns that off", async () => {
    const dir = promoted.dir;
    {
      await using fixture = await serveFixture({ script: GREETING, checkoutDir: dir });
      const ran = await fixture.handler.fetch(post(`${BASE}/v1/tools/word_count/run`, { inputs: { text: "one two" } }));
      expect(await ran.json()).toMatchObject({ ok: true, data: { words: 2 } });
    }
    await using asking = await serveFixture({ script: GREETING, checkoutDir: dir, serve: { generatedTools: "ask" } });
    expect((await asking.handler.fetch(post(`${BASE}/v1/tools/word_count/run`, { inputs: { text: "one two" } }))).status).toBe(403);
  });

  test("serve.generatedTools allow runs every generated tool over HTTP (the gate's tool scenarios), never a built-in", async () => {
    const dir = promoted.dir;
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: dir, serve: { generatedTools: "allow" } });
    const ran = await fixture.handler.fetch(post(`${BASE}/v1/tools/word_count/run`, { inputs: { text: "one two" } }));
    expect(await ran.json()).toMatchObject({ ok: true, data: { words: 2 } });
    expect((await fixture.handler.fetch(post(`${BASE}/v1/tools/sh/run`, { inputs: { cmd: "true" } }))).status).toBe(403);
    const listing = (await (await fixture.handler.fetch(new Request(`${BASE}/v1/tools`))).json()) as { tools: { name: string; http: string }[] };
    expect(listing.tools.map((tool) => `${tool.name}:${tool.http}`)).toEqual(["sh:ask", "python_run:ask", "word_count:allow"]);
  });

  test("in a turn, an agent persona is offered the promoted tool; 'ask' is denied over HTTP, 'allow' runs it", async () => {
    const dir = promoted.dir;
    const script = {
      rules: [
        { when: { lastRole: "tool" as const }, reply: { text: "counted: {{lastMessage}}" } },
        { reply: { toolCalls: [{ name: "word_count", arguments: { text: "a b c d" } }] } },
      ],
    };
    await using asking = await serveFixture({ script, checkoutDir: dir });
    const denied = parseSse(await (await asking.handler.fetch(post(`${BASE}/v1/messages`, { text: "count", mode: "direct:agent" }))).text());
    expect(denied.find((event) => event.type === "notice")).toMatchObject({ reason: "approval" });
    const offered = (
      asking.server.requests.find((request) => request.path === "/v1/chat/completions")?.body as { tools: { function: { name: string } }[] }
    ).tools;
    expect(offered.map((tool) => tool.function.name)).toContain("word_count");

    await using allowing = await serveFixture({ script, checkoutDir: dir });
    for (const persona of allowing.config.personas) if (persona.kind === "agent") persona.tools.word_count = "allow";
    const events = parseSse(await (await allowing.handler.fetch(post(`${BASE}/v1/messages`, { text: "count", mode: "direct:agent" }))).text());
    expect(events.find((event) => event.type === "tool-result")).toMatchObject({ ok: true, output: '{"words":4}' });
  });

  test("a folder whose files do not match metadata.json (says why), a symlink, or a bad name is not offered", async () => {
    const dir = repo();
    writeFileSync(join(writeGeneratedTool(dir, "edited"), "tool.ts"), "export default () => ({ words: 99 });\n");
    writeGeneratedTool(dir, "word_count");
    symlinkSync(join(dir, "tools", "generated", "word_count"), join(dir, "tools", "generated", "linked"));
    mkdirSync(join(dir, "tools", "generated", "Bad-Name"));
    const served = await ServedTools.open(dir, [sh, pythonRun]);
    expect(served.generated().map((tool) => tool.name)).toEqual(["word_count"]);
    const problems = Object.fromEntries(served.problems.map((problem) => [problem.name, problem.problem]));
    expect(problems.edited).toContain("do not match the hashes");
  });
});

describe("hot reload", () => {
  test("a promotion that adds a tool is taken without a restart; a running session goes on", async () => {
    const dir = repo();
    const before = gitSync(dir, ["rev-parse", "HEAD"]).trim();
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: dir });
    const first = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "remember me", mode: "direct:agent" }));
    const session = first.headers.get("x-org-session") as string;
    await first.text();

    writeGeneratedTool(dir, "word_count");
    const after = commitAll(dir, "promote word_count");
    const reload = await fixture.handler.fetch(new Request(`${BASE}/v1/admin/reload`, { method: "POST" }));
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({ reloaded: true, previousCommit: before, commit: after, added: ["word_count"], removed: [] });
    const health = (await (await fixture.handler.fetch(new Request(`${BASE}/health`))).json()) as { commit: string; tools: string[] };
    expect(health).toMatchObject({ commit: after, tools: ["sh", "python_run", "word_count"] });
    // The open session's room says so at once, to whoever watches it (its stream, and so its transcript).
    const notices = async () => {
      const opened = sessionApiSchemas().SessionTranscript.parse(
        await (await fixture.handler.fetch(new Request(`${BASE}/v1/sessions/${session}`))).json(),
      );
      return opened.lines.flatMap((line) => (line.type === "notice" && line.reason === "tools-changed" ? [line.message] : []));
    };
    expect(await notices()).toEqual(["new tool: word_count (asks first)"]);

    const next = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "still there?", session }));
    expect(next.headers.get("x-org-session")).toBe(session);
    expect(parseSse(await next.text()).at(-1)).toMatchObject({ type: "turn-end", ok: true });
    const lastRequest = fixture.server.requests.at(-1)?.body as { messages: { content: string }[] };
    expect(lastRequest.messages.map((message) => message.content).join("\n")).toContain("remember me");

    // A rollback takes it away again.
    gitSync(dir, ["revert", "--no-edit", "HEAD"]);
    const rolledBack = await fixture.handler.fetch(new Request(`${BASE}/v1/admin/reload`, { method: "POST" }));
    expect(await rolledBack.json()).toMatchObject({ reloaded: true, removed: ["word_count"] });
    expect(await notices()).toEqual(["new tool: word_count (asks first)", "tool gone: word_count (rolled back)"]);
  });

  test("a new commit that changes code outside tools/generated/ is not taken: 409, and /health says a restart is needed", async () => {
    const dir = repo();
    const before = gitSync(dir, ["rev-parse", "HEAD"]).trim();
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: dir, apiToken: "reload-token" });
    mkdirSync(join(dir, "room"));
    writeFileSync(join(dir, "room", "room.ts"), "// changed core\n");
    writeGeneratedTool(dir, "word_count");
    commitAll(dir, "core and tool");
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/admin/reload`, { method: "POST" }))).status).toBe(401);
    const reload = await fixture.handler.fetch(
      new Request(`${BASE}/v1/admin/reload`, { method: "POST", headers: { authorization: "Bearer reload-token" } }),
    );
    expect(reload.status).toBe(409);
    const result = (await reload.json()) as { reloaded: boolean; restartNeeded: string; commit: string };
    expect(result.reloaded).toBe(false);
    expect(result.commit).toBe(before);
    expect(result.restartNeeded).toContain("room/room.ts");
    const health = (await (await fixture.handler.fetch(new Request(`${BASE}/health`))).json()) as {
      commit: string;
      tools: string[];
      restartNeeded: string;
    };
    expect(health.commit).toBe(before);
    expect(health.tools).not.toContain("word_count");
    expect(health.restartNeeded).toContain("restart");
  });

  test("the server hears a promotion in the checkout's event stream by itself and reloads", async () => {
    const dir = repo();
    const served = await ServedTools.open(dir, [sh]);
    const heard: string[][] = [];
    served.follow((result) => heard.push(result.added));
    try {
      writeGeneratedTool(dir, "word_count");
      const after = commitAll(dir, "promote");
      // What cycle/'s ref change tells once the checkout holds main's files; a commit alone is told nothing.
      publishWorkspaceEvent(dir, { type: "main-promoted", branch: "cand/20261129T120000Z", tag: "promote/20261129T120100Z" });
      await waitUntil("the watcher to reload", () => served.commit === after);
      expect(served.generated().map((tool) => tool.name)).toEqual(["word_count"]);
      expect(heard).toEqual([["word_count"]]);
    } finally {
      served.stop();
    }
  });
});
