import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { z } from "zod";
import { loadOrgConfig } from "../../config/org-config.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { openRoom } from "../../room/room.ts";
import { terminalControlProblem } from "../../testing/terminal-hostile-cases.ts";
import { sh } from "../../tools/sh.ts";
import { defineTool, type PersonAnswer } from "../../tools/define-tool.ts";
import { LineEditor } from "./line-editor/line-editor.ts";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import { testSandboxAccess } from "../../testing/test-sandbox.ts";
import { egressRules } from "../../config/egress-policy.ts";
import { sandboxPolicy as policyOf } from "../../sandbox/sandbox-policy.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { PublicTestSandbox } from "../../testing/public-test-sandbox.ts";
import { pythonRun } from "../../tools/python-run.ts";
import { WorkspaceCopies } from "../../workspace/workspace-copies.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const workspaceDir = mkdtempSync(join(tmpdir(), "org-approval-console-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

/** A gate a test opens: the model server holds a stream back until then. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/**
 * A real OpenAI-style streaming server on 127.0.0.1 whose replies wait for the test's gates: it tells the
 * personas apart by model id, so the test decides which stream moves when.
 */
function startGatedServer(replies: Record<string, (request: number) => AsyncIterable<string>>) {
  const counts = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      // Only completions: a reply's discovery of the window (GET /props, POST /api/show, …) finds nothing here.
      if (new URL(request.url).pathname !== "/v1/chat/completions") return new Response("404 page not found", { status: 404 });
      const body = (await request.json()) as { model: string };
      const count = counts.get(body.model) ?? 0;
      counts.set(body.model, count + 1);
      const frames = replies[body.model]?.(count);
      if (!frames) return new Response("no such model", { status: 404 });
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          for await (const frame of frames) controller.enqueue(encoder.encode(frame));
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

/** The room's config in the workspace: agent and python with these tools, no hops, served at `url`. */
function roomConfig(url: string, agentTools: Record<string, string>, pythonTools: Record<string, string>, limits: Record<string, number> = {}) {
  const configFile = join(workspaceDir, "org.config.json");
  const personas = [
    { name: "agent", kind: "agent", model: "agent-model", tools: agentTools },
    { name: "python", kind: "python", model: "python-model", tools: pythonTools },
  ];
  writeFileSync(configFile, JSON.stringify({ personas, limits: { ...limits, hopsPerMessage: 0 } }));
  return loadOrgConfig(configFile, { OLLAMA_BASE: url }, { checkoutDir: workspaceDir });
}

async function openConsoleRoom(url: string, onEvent: (event: RoomEvent) => void, readAnswer: (screen: () => string) => Promise<string | undefined>) {
  const config = roomConfig(url, { sh: "ask" }, {}, { concurrencyPerServer: 2 });
  let screen = "";
  const renderer = createConsoleRenderer({ write: (text) => (screen += text), color: false });
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: (line) => renderer.print(renderer.ansi.text(`· ${line}\n`)),
    ask: askOnConsole(renderer, () => readAnswer(() => screen)),
  });
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [sh],
    approve,
    onEvent: (event) => {
      renderer.handle(event);
      onEvent(event);
    },
  });
  return { room, renderer, screen: () => screen };
}

async function until(condition: () => boolean, what: string) {
  for (let tries = 0; tries < 400 && !condition(); tries += 1) await Bun.sleep(25);
  if (!condition()) throw new Error(`timed out after 10 s waiting for ${what}`);
}

test("invariant 10: the question shows the whole command as it will run: a key zod drops and a 398-character command", async () => {
  const command = `${"echo harmless; ".repeat(26).slice(0, 378)} ; rm -rf /scratch/*`;
  expect(command.length).toBe(398);
  const server = startGatedServer({
    "agent-model": async function* (request) {
      if (request === 0) {
        const args = JSON.stringify({ note: "x".repeat(300), cmd: command });
        yield chunk({ role: "assistant", tool_calls: [{ id: "call_1", index: 0, type: "function", function: { name: "sh", arguments: args } }] });
        yield chunk({}, "tool_calls");
      } else {
        yield chunk({ role: "assistant", content: "fine, I will not." }, "stop");
      }
    },
    "python-model": async function* () {
      yield chunk({ role: "assistant", content: "nothing to add." }, "stop");
    },
  });
  let question = "";
  const { room, renderer, screen } = await openConsoleRoom(
    server.url,
    () => {},
    async (current) => {
      question = current();
      return "n";
    },
  );
  try {
    await room.send("@agent tidy up");
    await renderer.idle();
    const asked = question.slice(question.indexOf("agent wants to run"));
    expect(asked).toBe(`agent wants to run sh ${JSON.stringify({ cmd: command })}\n`);
    expect(asked).toContain("; rm -rf /scratch/*");
    expect(asked).not.toContain('"note"');
    // The ⚙ line of the very call sits right above the question.
    expect(question).toMatch(/agent\s+│ ⚙ sh \{"note":"x+…\nagent wants to run sh/);
    expect(screen()).toContain("· denied: agent may not run sh this time");
  } finally {
    await room.close();
    await server.stop();
  }
}, 30_000);

test("invariant 10: while the question is open another persona's cursor-up and fake question reach nothing; they follow the answer, made visible", async () => {
  const agentMayCall = gate();
  const pythonMayGoOn = gate();
  const fake = '\x1b[3A\x1b[2Kagent wants to run sh {"cmd":"df -h"}\n';
  const server = startGatedServer({
    "python-model": async function* () {
      yield chunk({ role: "assistant", content: "let me check " });
      await pythonMayGoOn.opened;
      yield chunk({ content: fake });
      yield chunk({ content: "all good" }, "stop");
    },
    "agent-model": async function* (request) {
      if (request === 0) {
        await agentMayCall.opened;
        const args = JSON.stringify({ cmd: "rm -rf /scratch/*; echo done" });
        yield chunk({ role: "assistant", tool_calls: [{ id: "call_9", index: 0, type: "function", function: { name: "sh", arguments: args } }] });
        yield chunk({}, "tool_calls");
      } else {
        yield chunk({ role: "assistant", content: "understood." }, "stop");
      }
    },
  });
  let pythonEnded = false;
  let atQuestion = "";
  let whileOpen = "";
  const { room, renderer, screen } = await openConsoleRoom(
    server.url,
    (event) => {
      // python holds the console first; only then may the agent ask.
      if (event.type === "text-delta" && event.persona === "python") agentMayCall.open();
      if (event.type === "reply-end" && event.persona === "python") pythonEnded = true;
    },
    async (current) => {
      atQuestion = current();
      pythonMayGoOn.open();
      await until(() => pythonEnded, "python's reply to end while the question is open");
      whileOpen = current();
      return "n";
    },
  );
  try {
    await room.send("both of you: is it safe?");
    await renderer.idle();
    expect(atQuestion).toMatch(
      /^python │ let me check \nagent  │ ⚙ sh \{"cmd":"rm -rf \/scratch\/\*; echo done"\}\nagent wants to run sh \{"cmd":"rm -rf \/scratch\/\*; echo done"\}\n$/,
    );
    // python streamed its fake question and ended while the question was open: nothing of it was shown.
    expect(whileOpen).toBe(atQuestion);
    const after = screen().slice(atQuestion.length);
    expect(after).toStartWith("· denied: agent may not run sh this time\npython │ \\x1b[3A\\x1b[2Kagent wants to run sh");
    expect(terminalControlProblem(screen())).toBeUndefined();
  } finally {
    await room.close();
    await server.stop();
  }
}, 30_000);

test("'a' at the terminal is the room's always: the transcript says always by terminal, and the later call is not asked", async () => {
  const script = {
    models: ["agent-model", "python-model"],
    rules: [
      { when: { lastRole: "tool" as const }, reply: { text: "done" } },
      { when: { lastMessage: "(first|again)$" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo ran" } }] } },
    ],
  };
  const server = await startScriptedServer({ script, port: 0 });
  const events: RoomEvent[] = [];
  const answers = ["a"];
  const { room, renderer, screen } = await openConsoleRoom(
    server.url,
    (event) => events.push(event),
    async () => answers.shift() ?? "n",
  );
  try {
    await room.send("@agent first");
    await renderer.idle();
    const firstTurn = events.length;
    await room.send("@agent again");
    await renderer.idle();
    expect(answers).toEqual([]);
    const later = events.slice(firstTurn);
    // Nobody is asked, and no question nor answer reaches the transcript, the web room or serve's stream.
    expect(later.filter((event) => event.type === "approval-asked" || event.type === "approval-answered")).toEqual([]);
    expect(later.flatMap((event) => (event.type === "tool-result" ? [event.output] : []))).toEqual([expect.stringContaining("ran")]);
    expect(screen().match(/agent wants to run sh/g)).toHaveLength(1);
    room.flushTranscript();
    const lines = readFileSync(room.transcriptPath, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string });
    expect(lines.filter((line) => line.type === "approval-answered")).toEqual([
      expect.objectContaining({ persona: "agent", answer: "always", by: "terminal" }),
    ]);
    expect(lines.filter((line) => line.type === "approval-asked")).toHaveLength(1);
  } finally {
    await room.close();
    await server.stop();
  }
}, 30_000);

test("a workspace change's question shows its diff above the prompt, made terminal-safe", async () => {
  let screen = "";
  const renderer = createConsoleRenderer({ write: (text) => (screen += text), color: false });
  let shown = "";
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: () => {},
    ask: askOnConsole(renderer, async () => {
      shown = screen;
      return "y";
    }),
  });
  const preview = "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-old\n+new \u001b]0;pwned\u0007";
  const call = { id: "w1", name: "workspace_write", arguments: { files: ["a.txt"], added: 1, removed: 1 }, preview };
  expect(await approve("agent", call)).toBe(true);
  expect(shown).toContain('agent wants to run workspace_write {"files":["a.txt"],"added":1,"removed":1}\ndiff --git a/a.txt b/a.txt\n');
  expect(shown).toContain("-old\n+new ");
  expect(terminalControlProblem(shown)).toBeUndefined();
});

test("a question a tool leaves behind is withdrawn when its reply ends: the terminal's line is free for the prompt", async () => {
  // A stand-in for the browser, whose egress guard asks so for a connection Chromium makes after the call returned.
  let leftBehind: Promise<PersonAnswer> | undefined;
  const lingers = defineTool("browser", {
    description: "Asks the person about a host and returns without waiting for the answer.",
    parameters: z.object({}),
    needs: ["askPerson"],
    async execute(_args, context) {
      leftBehind = context.askPerson({
        call: { name: "browser", arguments: { connect: "update.example:80" } },
        preview: "a late connection",
        always: { key: "egress\u0000update.example:80", label: "update.example:80" },
      });
      return "done";
    },
  });
  const server = startGatedServer({
    "agent-model": async function* (request) {
      if (request === 0) {
        yield chunk({
          role: "assistant",
          tool_calls: [{ id: "call_1", index: 0, type: "function", function: { name: "browser", arguments: "{}" } }],
        });
        yield chunk({}, "tool_calls");
      } else yield chunk({ role: "assistant", content: "it is done." }, "stop");
    },
    "python-model": async function* () {
      yield chunk({ role: "assistant", content: "nothing to add." }, "stop");
    },
  });
  writeFileSync(
    join(workspaceDir, "org.config.json"),
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent", model: "agent-model", tools: { browser: "allow" } }],
      limits: { hopsPerMessage: 0 },
    }),
  );
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url }, { checkoutDir: workspaceDir });
  const input = new PassThrough();
  const editor = new LineEditor({ input, output: { write: () => true } });
  await editor.start();
  const renderer = createConsoleRenderer({ write: () => {}, color: false });
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: () => {},
    ask: askOnConsole(renderer, async (prompt, keys, signal) => {
      const read = await editor.readLine(prompt.toString(), { remember: false, keys, ...(signal ? { signal } : {}) });
      return read.type === "line" ? read.text : "";
    }),
  });
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [lingers],
    approve,
    onEvent: (event) => {
      renderer.handle(event);
      // The call's own question (the browser asks whatever the config says) is answered yes; the late one is not answered.
      if (event.type === "approval-asked" && event.preview === undefined) setTimeout(() => input.write("y\r"), 10);
    },
  });
  try {
    await room.send("@agent do it");
    await renderer.idle();
    expect(leftBehind).toBeDefined();
    const answer = await Promise.race([leftBehind, Bun.sleep(5_000).then(() => "still asked 5 s after the reply ended")]);
    expect(answer).toEqual({ denied: "the turn was stopped before anyone answered" });
    // Before, org chat's next prompt threw "readLine is already waiting for input" here and the room ended.
    const prompt = editor.readLine("group › ");
    input.write("next\r");
    expect(await prompt).toEqual({ type: "line", text: "next" });
  } finally {
    await room.close();
    await editor.close();
    await server.stop();
  }
});

test("under sandbox.egress the terminal asks about a new host (persona, command's first line, host, port); 'always' is for the session", async () => {
  const site = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => new Response(`hello ${new URL(request.url).pathname}\n`) });
  const port = site.port ?? 0;
  const curl = (host: string, path: string) => `curl -sS --max-time 5 http://${host}:${port}${path}`;
  const firstLine = `${curl("asked.test", "/first")} && echo reached`;
  const script = {
    models: ["agent-model", "python-model"],
    rules: [
      { when: { lastRole: "tool" as const }, reply: { text: "done" } },
      { when: { lastMessage: "first$" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: `${firstLine}\necho second line` } }] } },
      {
        when: { lastMessage: "again$" },
        reply: { toolCalls: [{ name: "sh", arguments: { cmd: `${curl("asked.test", "/again")}; ${curl("other.test", "/")}` } }] },
      },
      {
        when: { lastMessage: "py$" },
        reply: {
          toolCalls: [
            {
              name: "python_run",
              arguments: {
                code: `import urllib.request\nprint(urllib.request.urlopen("http://public.test:${port}/py", timeout=5).read().decode(), end="")`,
              },
            },
          ],
        },
      },
    ],
  };
  const server = await startScriptedServer({ script, port: 0 });
  const config = roomConfig(server.url, { sh: "allow" }, { python_run: "allow" });
  const sandbox = new PublicTestSandbox();
  const sandboxPolicy = policyOf({ poolSize: 0, workspace: "none", egress: egressRules({ unlisted: "ask", allow: ["public.test"], ports: [port] }) });
  /** A room as `org chat` opens it: one approval prompt for its session, asked on the console. */
  const openChat = async (answers: string[]) => {
    let screen = "";
    const asked: { screen: string; prompt: string }[] = [];
    const renderer = createConsoleRenderer({ write: (text) => (screen += text), color: false });
    const approve = createApprovalPrompt({
      assumeYes: false,
      notify: (line) => renderer.print(renderer.ansi.text(`· ${line}\n`)),
      ask: askOnConsole(renderer, async (prompt) => {
        asked.push({ screen, prompt: prompt.toString() });
        return answers.shift() ?? "n";
      }),
    });
    const events: RoomEvent[] = [];
    const room = await openRoom({
      sandbox,
      sandboxPolicy,
      workspaceCopies: new WorkspaceCopies(),
      config,
      workspaceDir,
      tools: [sh, pythonRun],
      approve,
      onEvent: (event) => {
        renderer.handle(event);
        events.push(event);
      },
    });
    const results = () => events.flatMap((event) => (event.type === "tool-result" ? [event] : []));
    return { room, renderer, asked, results, screen: () => screen };
  };
  const question = (asked: { screen: string; prompt: string }) => asked.screen.slice(asked.screen.lastIndexOf("agent wants to run"));
  try {
    const chat = await openChat(["a", "n"]);
    try {
      await chat.room.send("@agent first");
      await chat.renderer.idle();
      expect(chat.asked).toHaveLength(1);
      const [first] = chat.asked;
      if (!first) throw new Error("not asked");
      // The persona, the command's first line and nothing after it, the host and the port, as the person reads them.
      expect(question(first)).toBe(
        `agent wants to run sh ${JSON.stringify({ connect: `asked.test:${port}`, command: firstLine })}\n` +
          `sh wants to connect to asked.test:${port} (not on sandbox.egress.allow): ${firstLine}\n`,
      );
      expect(question(first)).not.toContain("second line");
      expect(first.prompt).toBe(`allow? [y]es / [n]o / [a]lways for sandboxed commands connecting to asked.test:${port}: `);
      expect(chat.results()[0]?.output).toContain("hello /first\nreached\nsecond line");

      // "always": the same host in a later run of this session is not asked; another host is.
      await chat.room.send("@agent again");
      await chat.renderer.idle();
      expect(chat.asked.map(question)).toEqual([question(first), expect.stringContaining(`sh wants to connect to other.test:${port}`)]);
      const again = chat.results()[1]?.output ?? "";
      expect(again).toContain("hello /again");
      expect(again).toContain(`org's egress guard refused other.test:${port}: not on sandbox.egress.allow, and the person said no`);

      // A listed host is reached without a question, by python's urllib through the proxy variables.
      await chat.room.send("@python py");
      await chat.renderer.idle();
      expect(chat.asked).toHaveLength(2);
      const python = chat.results()[2];
      expect(python?.output).toContain("hello /py");
      expect((python?.data as { egress?: string } | undefined)?.egress).toMatch(/^reached 1 host \(public\.test\), /);
    } finally {
      await chat.room.close();
    }

    // A new session (the next `org chat`) asks again.
    const next = await openChat(["n"]);
    try {
      await next.room.send("@agent first");
      await next.renderer.idle();
      expect(next.asked.map(question)).toEqual([expect.stringContaining(`sh wants to connect to asked.test:${port}`)]);
      expect(next.results()[0]?.output).toContain(`refused asked.test:${port}: not on sandbox.egress.allow, and the person said no`);
    } finally {
      await next.room.close();
    }
  } finally {
    site.stop(true);
    await server.stop();
    sandbox.pool.discardAll();
  }
}, 60_000);
