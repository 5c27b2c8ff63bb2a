import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import type { ToolCall } from "../llm/chat-types.ts";
import { DEFAULT_TOOLS } from "../config/persona-entry.ts";
import { loadOrgConfig, type OrgConfig, type PersonaConfig } from "../config/org-config.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { defineTool } from "../tools/define-tool.ts";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";
import { type RoomEvent, roomEventSchemas } from "./room-event.ts";
import { readTranscript } from "./transcript.ts";
import { RoomModeError } from "./room-mode.ts";
import { openRoom, type Room } from "./room.ts";
import type { RoomOptions } from "./room-options.ts";
import { ModelNotAvailableError } from "./switch-model.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const base = mkdtempSync(join(tmpdir(), "org-room-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let workspaces = 0;

const echoRuns: string[] = [];
const echo = echoTool((text) => echoRuns.push(text));

type Setup = {
  script: ScriptInput;
  personas?: (Partial<PersonaConfig> & { name: string; kind: PersonaConfig["kind"] })[];
  limits?: Partial<OrgConfig["limits"]>;
  concurrency?: number;
  room?: Partial<RoomOptions>;
};

/** A scripted server on 127.0.0.1, a room on it, and a console renderer collecting its output. */
async function withRoom(
  setup: Setup,
  run: (context: { room: Room; server: ScriptedServer; events: RoomEvent[]; output: () => Promise<string>; workspaceDir: string }) => Promise<void>,
) {
  const server = await startScriptedServer({ script: setup.script, port: 0 });
  const workspaceDir = join(base, `workspace-${workspaces++}`);
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  if (setup.personas) {
    config.personas = setup.personas.map((persona) => ({
      model: "qwen3:8b",
      server: server.url,
      contextMessages: 60,
      ...persona,
      tools: { ...DEFAULT_TOOLS[persona.kind], ...persona.tools },
    }));
  }
  Object.assign(config.limits, setup.limits ?? {});
  if (setup.concurrency) config.servers[server.url] = { concurrency: setup.concurrency };
  let text = "";
  const renderer = createConsoleRenderer({ write: (chunk) => (text += chunk), color: false });
  const events: RoomEvent[] = [];
  // Every event the room emits must pass its own schema, as the transcript's reader and SSE clients parse it.
  const offSchema: unknown[] = [];
  const { mkdirSync } = await import("node:fs");
  mkdirSync(workspaceDir, { recursive: true });
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [echo],
    onEvent: (event) => {
      const parsed = roomEventSchemas().RoomEvent.safeParse(event);
      if (!parsed.success || !Bun.deepEquals(parsed.data, event)) offSchema.push(event);
      events.push(event);
      renderer.handle(event);
    },
    ...setup.room,
  });
  try {
    await run({ room, server, events, output: () => renderer.idle().then(() => text), workspaceDir });
  } finally {
    await room.close();
    await server.stop();
  }
  expect(offSchema).toEqual([]);
  expect(readTranscript(room.transcriptPath).damagedLines).toBe(0);
}

const personasOf = (server: ScriptedServer) =>
  server.requests
    .filter((request) => request.path === "/v1/chat/completions")
    .map((request) => /^You are ([\w-]+),/.exec((request.body as { messages: { content: string }[] }).messages[0]?.content ?? "")?.[1]);

/** The scripted toolsmith model deciding to build: it calls build_tool when it is offered. */
const buildsATool = (goal: string, lastMessage?: string) => ({
  when: { persona: "toolsmith", tool: "build_tool", ...(lastMessage !== undefined ? { lastMessage } : {}) },
  reply: { toolCalls: [{ name: "build_tool", arguments: { goal } }] },
});

const say = (persona: string, text: string, extra: Record<string, unknown> = {}) => ({
  when: { persona },
  reply: { text, chunkSize: 3, delayMs: 2, ...extra },
});

describe("room routing", () => {
  test("group: every persona answers at once; the console shows each block whole", async () => {
    const script: ScriptInput = {
      rules: [
        say("agent", "agent: the shell is ready.\nSecond agent line."),
        say("python", "python: numbers are fine.\nSecond python line."),
        say("toolsmith", "toolsmith: nothing to build.\nSecond toolsmith line."),
      ],
    };
    await withRoom({ script, concurrency: 3 }, async ({ room, events, output }) => {
      const summary = await room.send("hello everyone");
      expect(summary.ok).toBe(true);
      const text = await output();
      for (const persona of ["agent", "python", "toolsmith"]) {
        const prefix = `${persona.padEnd(9)} │ `;
        expect(text).toContain(`${prefix}${persona}: `);
        expect(text).toContain(`${prefix}Second ${persona} line.\n`);
      }
      // Blocks are contiguous: the speaker changes exactly twice.
      const speakers = text
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(" ")[0])
        .filter((name, index, all) => name !== all[index - 1]);
      expect(speakers).toHaveLength(3);
      // They streamed concurrently: some persona's delta came between another's first and last delta.
      for (const event of events) expect(JSON.parse(JSON.stringify(event))).toEqual(event);
      const deltas = events.filter((event) => event.type === "text-delta").map((event) => event.persona);
      const firstSwitch = deltas.findIndex((persona, index) => index > 0 && persona !== deltas[index - 1]);
      expect(deltas.slice(firstSwitch).includes(deltas[0] as string)).toBe(true);
    });
  });

  test("direct mode: only that persona hears the user; the others never see the message", async () => {
    const script: ScriptInput = { rules: [say("python", "python reply"), say("agent", "agent reply"), say("toolsmith", "toolsmith reply")] };
    await withRoom({ script }, async ({ room, server }) => {
      room.setMode("direct:python");
      await room.send("a secret for python only");
      expect(personasOf(server)).toEqual(["python"]);
      room.setMode("group");
      await room.send("now everyone");
      const agentRequest = server.requests
        .filter((request) => request.path === "/v1/chat/completions")
        .find((request) => JSON.stringify(request.body).includes("You are agent,"));
      expect(JSON.stringify(agentRequest?.body)).not.toContain("a secret for python only");
      expect(JSON.stringify(agentRequest?.body)).toContain("now everyone");
    });
  });

  test("file mode writes replies inside the workspace and shows one line; outside paths are refused", async () => {
    const script: ScriptInput = { rules: [say("agent", "written words"), say("python", "more words")] };
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const },
    ];
    await withRoom({ script, personas }, async ({ room, events, output, workspaceDir }) => {
      expect(() => room.setMode("file:../elsewhere.md")).toThrow(RoomModeError);
      expect(() => room.setMode("file:/etc/passwd")).toThrow("outside the workspace");
      room.setMode("file:out/replies.md");
      expect(room.mode).toEqual({ kind: "file", path: "out/replies.md" });
      await room.send("write it down");
      const file = readFileSync(join(workspaceDir, "out/replies.md"), "utf8");
      expect(file).toContain("## agent");
      expect(file).toContain("written words");
      expect(file).toContain("more words");
      const text = await output();
      expect(text).not.toContain("written words");
      expect(text).toContain("agent  │ → reply written to out/replies.md");
      expect(events.filter((event) => event.type === "file-written")).toHaveLength(2);

      // A file that turns into a symlink after the mode was set is refused at write time.
      const outsideFile = join(base, `outside-${workspaces}.md`);
      rmSync(join(workspaceDir, "out/replies.md"));
      symlinkSync(outsideFile, join(workspaceDir, "out/replies.md"));
      const summary = await room.send("once more");
      expect(summary.errors.map((error) => error.message).join("\n")).toContain("symbolic link");
      expect(existsSync(outsideFile)).toBe(false);
      expect(summary.messages.filter((message) => message.from !== "user").map((message) => message.text)).toEqual(["written words", "more words"]);
    });
  });

  test("@mentions address only the named personas in any mode", async () => {
    const script: ScriptInput = { rules: [say("python", "four"), say("agent", "agent here"), say("toolsmith", "smith here")] };
    await withRoom({ script }, async ({ room, server }) => {
      await room.send("@python what is 2+2?");
      expect(personasOf(server)).toEqual(["python"]);
      room.setMode("direct:python");
      await room.send("@toolsmith and you?");
      expect(personasOf(server)).toEqual(["python", "toolsmith"]);
    });
  });
});

describe("room limits", () => {
  const chain: ScriptInput = {
    rules: [
      { when: { persona: "agent", lastMessage: "start" }, reply: { text: "@python please go on" } },
      { when: { persona: "python", lastMessage: "go on" }, reply: { text: "@toolsmith your turn" } },
      { when: { persona: "toolsmith", lastMessage: "your turn" }, reply: { text: "@agent back to you" } },
      { when: { persona: "agent", lastMessage: "back to you" }, reply: { text: "@python again" } },
      { when: { persona: "python", lastMessage: "again" }, reply: { text: "@agent once more" } },
      { when: { persona: "agent", lastMessage: "once more" }, reply: { text: "done" } },
    ],
  };

  test("invariant 5: hops per user message are checked before each model call; the limit is reported", async () => {
    await withRoom({ script: chain, limits: { hopsPerMessage: 1, repliesInARow: 5 } }, async ({ room, server, events }) => {
      await room.send("@agent start");
      expect(personasOf(server)).toEqual(["agent", "python"]);
      const notice = events.find((event) => event.type === "notice");
      expect(notice).toMatchObject({ reason: "hop-limit", persona: "toolsmith" });
    });
  });

  test("a persona stops after its replies-in-a-row cap even with hops to spare", async () => {
    await withRoom({ script: chain, limits: { hopsPerMessage: 10, repliesInARow: 1 } }, async ({ room, server, events }) => {
      await room.send("@agent start");
      expect(personasOf(server)).toEqual(["agent", "python", "toolsmith"]);
      expect(events.find((event) => event.type === "notice")).toMatchObject({ reason: "replies-in-a-row", persona: "agent" });
    });
  });

  test("with room for it, the whole chain runs and each persona sees who asked", async () => {
    await withRoom({ script: chain, limits: { hopsPerMessage: 10, repliesInARow: 5 } }, async ({ room, server }) => {
      const summary = await room.send("@agent start");
      expect(personasOf(server)).toEqual(["agent", "python", "toolsmith", "agent", "python", "agent"]);
      expect(summary.messages.at(-1)?.text).toBe("done");
      const last = server.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
      expect(last.messages.at(-1)).toEqual({ role: "user", content: "python: @agent once more" });
    });
  });

  test("invariant 5: the session token budget is checked before every model call", async () => {
    const script: ScriptInput = { rules: [say("agent", "a fairly long answer that costs tokens")] };
    const personas = [{ name: "agent", kind: "agent" as const }];
    // 12 tokens: the first answer (about 10 tokens streamed) fits; with its prompt counted the budget is spent.
    await withRoom({ script, personas, limits: { sessionTokens: 12 } }, async ({ room, server, events }) => {
      expect((await room.send("first")).ok).toBe(true);
      const second = await room.send("second");
      expect(second.ok).toBe(false);
      expect(second.errors[0]?.message).toContain("token budget is spent");
      expect(personasOf(server)).toEqual(["agent"]);
      expect(events.find((event) => event.type === "error")).toMatchObject({ persona: "agent", kind: "budget" });
    });
  });

  test("limits.tokensPerDay counts every session of the workspace today: past it, a new session's first call is refused", async () => {
    const script: ScriptInput = { rules: [say("agent", "a fairly long answer that costs tokens")] };
    const personas = [{ name: "agent", kind: "agent" as const }];
    await withRoom({ script, personas, limits: { tokensPerDay: 12 } }, async ({ room, server, workspaceDir }) => {
      expect((await room.send("first")).ok).toBe(true);
      const second = await room.send("second");
      expect(second.errors[0]?.message).toContain("today's token budget is spent");
      expect(second.errors[0]?.message).toContain("limits.tokensPerDay");
      // Another session of the same workspace reads today's use from the transcripts: it asks no model at all.
      const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
      config.personas = config.personas.filter((persona) => persona.name === "agent");
      Object.assign(config.limits, { tokensPerDay: 12 });
      const other = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], onEvent() {} });
      try {
        const refused = await other.send("@agent third");
        expect(refused.ok).toBe(false);
        expect(refused.errors[0]?.message).toMatch(/today's token budget is spent \(\d+ of 12 tokens since 00:00 UTC/);
        expect(personasOf(server)).toEqual(["agent"]);
      } finally {
        await other.close();
      }
    });
  });
});

describe("room failures and queueing", () => {
  test("a model failing mid-stream shows its error in its own block; the others finish; nothing is lost", async () => {
    const script: ScriptInput = {
      rules: [
        say("agent", "agent finishes this sentence properly."),
        { when: { persona: "python" }, reply: { text: "python starts to say something long", chunkSize: 4, fault: { cutAfterChunks: 3 } } },
      ],
    };
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const },
    ];
    await withRoom({ script, personas, concurrency: 2 }, async ({ room, output }) => {
      const summary = await room.send("go");
      expect(summary.ok).toBe(false);
      const python = summary.messages.find((message) => message.from === "python");
      expect(python?.failed).toContain("without a finish reason");
      expect(python?.text).toBe("python start"); // three 4-character chunks, then the cut
      expect(summary.messages.find((message) => message.from === "agent")?.text).toBe("agent finishes this sentence properly.");
      const text = await output();
      expect(text).toMatch(/python │ python start\npython │ ✗ [^\n]*without a finish reason/);
      const transcript = readFileSync(join(room.transcriptPath), "utf8");
      expect(transcript).toContain('"failed"');
      expect(transcript).toContain('"text":"python start"');
    });
  });

  test("invariant 9: a connection dropped mid-reply keeps the partial text in the message event and the transcript, marked failed", async () => {
    const script: ScriptInput = {
      rules: [
        { when: { persona: "agent" }, reply: { text: "Partial answer before the crash", chunkSize: 7, fault: { cutAfterChunks: 3, reset: true } } },
      ],
    };
    await withRoom({ script, personas: [{ name: "agent", kind: "agent" as const }] }, async ({ room, events }) => {
      const summary = await room.send("go");
      expect(summary.ok).toBe(false);
      const message = events.find((event) => event.type === "message" && event.message.from === "agent");
      expect(message).toMatchObject({ type: "message", message: { from: "agent", text: "Partial answer before" } });
      expect(message?.type === "message" ? message.message.failed : undefined).toContain("broke mid-stream");
      const line = readFileSync(room.transcriptPath, "utf8")
        .trim()
        .split("\n")
        .map((text) => JSON.parse(text))
        .find((entry) => entry.type === "message" && entry.message?.from === "agent");
      expect(line.message).toMatchObject({ text: "Partial answer before", failed: expect.stringContaining("partial reply is kept") });
    });
  });

  test("invariant 9: a dead model server gives a clear message in the persona's block and loses no transcript", async () => {
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${dead.port}`;
    dead.stop(true);
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const, server: deadUrl },
    ];
    await withRoom({ script: { rules: [say("agent", "still here")] }, personas, concurrency: 2 }, async ({ room, output }) => {
      const summary = await room.send("anyone there?");
      expect(summary.ok).toBe(false);
      expect(summary.errors).toHaveLength(1);
      expect(summary.errors[0]?.message).toContain(`no model server answered at ${deadUrl}`);
      expect(summary.messages.find((message) => message.from === "agent")?.text).toBe("still here");
      expect(await output()).toContain(`python │ ✗ no model server answered at ${deadUrl}`);
      const lines = readFileSync(room.transcriptPath, "utf8").trim().split("\n");
      expect(lines.map((line) => JSON.parse(line).type)).toContain("turn-end");
      expect(lines.filter((line) => line.includes('"type":"message"'))).toHaveLength(3);
    });
  });

  test("one request per server by default: the second persona shows as queued, then answers", async () => {
    // Whichever reaches the slot first holds it a second before its first byte: the other, ready within it, is queued.
    const script: ScriptInput = {
      rules: [say("agent", "first", { firstByteDelayMs: 1_000 }), say("python", "second", { firstByteDelayMs: 1_000 })],
    };
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const },
    ];
    await withRoom({ script, personas }, async ({ room, events }) => {
      const summary = await room.send("both of you");
      expect(summary.ok).toBe(true);
      const queued = events.filter((event) => event.type === "waiting" && event.reason === "queued");
      expect(queued).toHaveLength(1);
      expect(summary.messages.map((message) => message.text).sort()).toEqual(["both of you", "first", "second"]);
    });
  });

  test("a queued persona answers the user's message, not the reply that finished while it waited", async () => {
    // Either persona may reach the server's one slot first (each prepares its prompt before it asks for the slot): each
    // says whom it answers, and the one that was queued must answer the user too. The first holds the slot a second
    // before its first byte, so the other, ready within it, waits in the queue.
    const answers = (persona: string) => [
      { when: { persona, lastMessage: "^the question$" }, reply: { text: `${persona} answers the user`, firstByteDelayMs: 1_000 } },
      { when: { persona }, reply: { text: `${persona} answers {{lastMessage}}` } },
    ];
    const script: ScriptInput = { rules: [...answers("agent"), ...answers("python")] };
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const },
    ];
    await withRoom({ script, personas }, async ({ room, events }) => {
      const summary = await room.send("the question");
      const queued = events.flatMap((event) => (event.type === "waiting" && event.reason === "queued" ? [event.persona] : []));
      expect(queued).toHaveLength(1);
      const said = summary.messages.map((message) => [message.from, message.text]);
      expect(said[0]).toEqual(["user", "the question"]);
      // The queued one's reply is the last: it waited for the other's to finish, and still answered the user.
      const last = queued[0] ?? "(nobody queued)";
      expect(said.at(-1)).toEqual([last, `${last} answers the user`]);
      expect(said.slice(1).sort()).toEqual([
        ["agent", "agent answers the user"],
        ["python", "python answers the user"],
      ]);
    });
  });
});

test("a start mode in the config that names no persona is an error naming the file and key", async () => {
  const workspaceDir = join(base, `workspace-${workspaces++}`);
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "qwen3:8b" });
  config.mode = "direct:nobody";
  config.source = join(workspaceDir, "org.config.json");
  await expect(openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], onEvent() {} })).rejects.toThrow(
    new RegExp(`^${join(workspaceDir, "org.config.json").replace(/[.\\/]/g, "\\$&")}, key mode: `),
  );
});

describe("room tools", () => {
  const personas = [
    { name: "agent", kind: "agent" as const, tools: { echo: "deny" as const } },
    { name: "python", kind: "python" as const, tools: { echo: "ask" as const } },
    { name: "helper", kind: "simple" as const, tools: { echo: "allow" as const } },
  ];
  const script: ScriptInput = {
    rules: [
      { when: { lastRole: "tool" }, reply: { text: "tool said: {{lastMessage}}" } },
      { when: {}, reply: { toolCalls: [{ name: "echo", arguments: { text: "ping" } }] } },
    ],
  };
  const toolsOffered = (server: ScriptedServer, persona: string) =>
    server.requests
      .filter((request) => request.body !== undefined && JSON.stringify(request.body).includes(`You are ${persona},`))
      .map((request) => ((request.body as { tools?: { function: { name: string } }[] }).tools ?? []).map((tool) => tool.function.name))[0];

  test("a tool some persona may use prepares once when the room opens; a denied one, or a room told not to, does not", async () => {
    const prepared: { tool: string; workspaceDir: string; sessionId?: string }[] = [];
    const preparing = (name: string) =>
      defineTool(name, {
        description: `Prepares as ${name}.`,
        parameters: z.object({}),
        execute: async () => "done",
        prepare: ({ workspaceDir, sessionId }) => prepared.push({ tool: name, workspaceDir, ...(sessionId !== undefined ? { sessionId } : {}) }),
      });
    const tools = { offered: "allow" as const, denied: "deny" as const };
    const roomPersonas = [
      { name: "agent", kind: "agent" as const, tools },
      { name: "helper", kind: "simple" as const, tools: { ...tools, offered: "ask" as const } },
    ];
    const room = { tools: [preparing("offered"), preparing("denied")] };
    await withRoom({ script, personas: roomPersonas, room }, async ({ room: opened, workspaceDir }) => {
      expect(prepared).toEqual([{ tool: "offered", workspaceDir, sessionId: opened.sessionId }]);
    });
    prepared.length = 0;
    await withRoom({ script, personas: roomPersonas, room: { ...room, prepareTools: false } }, async () => {
      expect(prepared).toEqual([]);
    });
  });

  test("figures: a tool's run is neither first-token time nor streaming time; a one-chunk reply shows no rate", async () => {
    let toolStartedAt = Number.NaN;
    const slow = defineTool("slow", {
      description: "Takes 400 ms.",
      parameters: z.object({}),
      async execute() {
        toolStartedAt = performance.now();
        await Bun.sleep(400);
        return "done";
      },
    });
    const slowScript: ScriptInput = {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "finished" } },
        { when: {}, reply: { toolCalls: [{ name: "slow", arguments: {} }] } },
      ],
    };
    await withRoom(
      { script: slowScript, personas: [{ name: "helper", kind: "simple", tools: { slow: "allow" } }], room: { tools: [slow] } },
      async ({ room, events }) => {
        const sentAt = performance.now();
        await room.send("go");
        const end = events.find((event) => event.type === "reply-end");
        if (end?.type !== "reply-end") throw new Error("no reply-end");
        expect(end.stats.durationMs).toBeGreaterThanOrEqual(400);
        // The first token came before the tool started, however slow the machine (1 ms for rounding).
        expect(end.stats.firstTokenMs).not.toBeNull();
        expect(end.stats.firstTokenMs as number).toBeLessThanOrEqual(toolStartedAt - sentAt + 1);
        expect(end.stats.tokensPerSecond).toBe(0);
      },
    );
  });

  test("deny hides the tool, ask without an approver denies, allow runs", async () => {
    echoRuns.length = 0;
    await withRoom({ script, personas, concurrency: 3 }, async ({ room, server, events }) => {
      await room.send("use echo");
      expect(toolsOffered(server, "agent")).toEqual(["chat_mode"]);
      expect(toolsOffered(server, "python")).toEqual(["echo"]);
      expect(toolsOffered(server, "helper")).toEqual(["echo"]);
      const results = Object.fromEntries(events.flatMap((event) => (event.type === "tool-result" ? [[event.persona, event.output]] : [])));
      expect(results.agent).toContain('no tool named "echo"');
      expect(results.python).toContain("denied");
      expect(results.helper).toBe("echo: ping");
      expect(echoRuns).toEqual(["ping"]);
      expect(events.find((event) => event.type === "notice")).toMatchObject({ reason: "approval", persona: "python" });
      expect(room.personas().map((persona) => [persona.name, persona.tools])).toEqual([
        ["agent", ["chat_mode"]],
        ["python", ["echo"]],
        ["helper", ["echo"]],
      ]);
    });
  });

  test("ask goes to the approver with the persona and the call", async () => {
    echoRuns.length = 0;
    const asked: [string, ToolCall][] = [];
    const approve = async (persona: string, call: ToolCall) => {
      asked.push([persona, call]);
      return true;
    };
    await withRoom({ script, personas: [personas[1] as (typeof personas)[number]], room: { approve } }, async ({ room }) => {
      const summary = await room.send("use echo");
      expect(asked.map(([persona, call]) => [persona, call.name, call.arguments])).toEqual([["python", "echo", { text: "ping" }]]);
      expect(echoRuns).toEqual(["ping"]);
      expect(summary.messages.at(-1)?.text).toBe("tool said: echo: ping");
    });
  });

  test("invariant 5: tool rounds per reply are capped", async () => {
    const loop: ScriptInput = { rules: [{ reply: { toolCalls: [{ name: "echo", arguments: { text: "again" } }] } }] };
    await withRoom(
      { script: loop, personas: [personas[2] as (typeof personas)[number]], limits: { toolRoundsPerTurn: 2 } },
      async ({ room, events }) => {
        await room.send("loop");
        expect(events.filter((event) => event.type === "tool-call")).toHaveLength(2);
        expect(events.find((event) => event.type === "notice")).toMatchObject({ reason: "max-rounds", persona: "helper" });
      },
    );
  });

  test("chat_mode lets a persona switch the room's mode", async () => {
    const script: ScriptInput = {
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "switched" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "chat_mode", arguments: { mode: "direct:python" } }] } },
      ],
    };
    await withRoom(
      {
        script,
        personas: [
          { name: "agent", kind: "agent" },
          { name: "python", kind: "python" },
        ],
      },
      async ({ room, events }) => {
        await room.send("@agent let me talk to python alone");
        expect(room.mode).toEqual({ kind: "direct", persona: "python" });
        expect(events.find((event) => event.type === "mode")).toEqual({ type: "mode", mode: "direct:python", by: "agent" });
      },
    );
  });

  test("without a pipeline, the toolsmith's build_tool call gets the plain answer that it cannot write tools yet", async () => {
    await withRoom(
      { script: { rules: [buildsATool("count words")] }, personas: [{ name: "toolsmith", kind: "toolsmith" }] },
      async ({ room, server }) => {
        const summary = await room.send("please write a tool that counts words");
        expect(summary.messages.at(-1)?.text).toContain("can't write tools yet");
        expect(summary.messages.at(-1)?.addressed).toEqual([]);
        // One model call: the call of build_tool ends the reply.
        expect(personasOf(server)).toEqual(["toolsmith"]);
      },
    );
  });
});

describe("room models", () => {
  test("useModel checks the server's model list and lists what is there when the model is missing", async () => {
    const script: ScriptInput = { models: ["qwen3:8b", "llama3.2:1b"], rules: [say("agent", "ok")] };
    await withRoom({ script, personas: [{ name: "agent", kind: "agent" }] }, async ({ room, server }) => {
      const error = await room.useModel("agent", "mistral:7b").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ModelNotAvailableError);
      expect((error as Error).message).toContain("qwen3:8b, llama3.2:1b");
      await room.useModel("agent", "llama3.2:1b");
      expect(room.personas()[0]?.model).toBe("llama3.2:1b");
      await room.send("hi");
      expect((server.requests.at(-1)?.body as { model: string }).model).toBe("llama3.2:1b");
    });
  });
});

describe("room transcript", () => {
  test("a room killed mid-stream resumes with everything that was written", async () => {
    const script: ScriptInput = {
      rules: [{ when: { persona: "agent", lastMessage: "slowly" }, reply: { text: "a slow answer ".repeat(40), chunkSize: 4, delayMs: 20 } }],
      fallback: { text: "going on" },
    };
    const server = await startScriptedServer({ script, port: 0 });
    const workspaceDir = join(base, "killed");
    const sessionsDir = join(workspaceDir, ".org", "sessions");
    const childScript = `
      import { mkdirSync } from "node:fs";
      import { loadOrgConfig } from ${JSON.stringify(join(import.meta.dir, "..", "config", "org-config.ts"))};
      import { openRoom } from ${JSON.stringify(join(import.meta.dir, "room.ts"))};
      import { testSandboxAccess } from ${JSON.stringify(join(import.meta.dir, "..", "testing", "test-sandbox.ts"))};
      mkdirSync(${JSON.stringify(workspaceDir)}, { recursive: true });
      const config = loadOrgConfig(${JSON.stringify(join(workspaceDir, "org.config.json"))}, { OLLAMA_BASE: ${JSON.stringify(server.url)}, OLLAMA_MODEL: "qwen3:8b" });
      const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir: ${JSON.stringify(workspaceDir)}, tools: [], onEvent() {} });
      room.setMode("direct:agent");
      console.log(room.sessionId);
      await room.send("tell me slowly");
    `;
    const child = Bun.spawn([process.execPath, "-e", childScript], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = child.stdout.getReader();
      const sessionId = new TextDecoder().decode((await reader.read()).value).trim();
      const path = join(sessionsDir, `${sessionId}.jsonl`);
      // Kill once a few deltas are on disk.
      for (let i = 0; i < 500; i += 1) {
        if (existsSync(path) && (readFileSync(path, "utf8").match(/"text-delta"/g) ?? []).length >= 5) break;
        await Bun.sleep(10);
      }
      child.kill(9);
      await child.exited;
      const written = readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => line.includes('"text-delta"'))
        .map((line) => (JSON.parse(line) as { text: string }).text)
        .join("");
      expect(written.length).toBeGreaterThan(0);

      const events: RoomEvent[] = [];
      const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
      const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], resume: true, onEvent: (event) => events.push(event) });
      try {
        expect(room.sessionId).toBe(sessionId);
        expect(room.mode).toEqual({ kind: "direct", persona: "agent" });
        const history = room.history();
        expect(history.map((message) => message.from)).toEqual(["user", "agent"]);
        expect(history[0]?.text).toBe("tell me slowly");
        expect(history[1]?.text).toBe(written);
        expect(history[1]?.failed).toContain("the session ended");
        // The resumed room goes on in the same transcript, with the cut-off reply in the agent's context.
        await room.send("go on");
        const last = server.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
        expect(last.messages.slice(1).map((message) => message.role)).toEqual(["user", "assistant", "user"]);
        expect(last.messages[2]?.content).toBe(written);
      } finally {
        await room.close();
      }
    } finally {
      child.kill(9);
      await server.stop();
    }
  });
});

describe("what a new user hit", () => {
  test("a misspelt @name is said to be no persona, with the closest suggested; the message goes to its usual audience", async () => {
    const script: ScriptInput = { rules: [say("python", "python here"), say("agent", "agent here"), say("toolsmith", "smith here")] };
    await withRoom({ script, concurrency: 3 }, async ({ room, server, events, output }) => {
      const summary = await room.send("@pyhton what is 2+2?");
      expect(personasOf(server).sort()).toEqual(["agent", "python", "toolsmith"]);
      expect(summary.messages[0]?.addressed).toEqual(["agent", "python", "toolsmith"]);
      const notice = events.find((event) => event.type === "notice");
      expect(notice).toMatchObject({ reason: "unknown-persona" });
      expect(notice?.type === "notice" && notice.message).toContain('no persona "@pyhton"');
      expect(await output()).toContain("Did you mean @python?");

      // In direct mode the audience stays the one persona; a name far from every persona lists them all.
      room.setMode("direct:agent");
      events.length = 0;
      await room.send("@zzzzzz are you there?");
      expect(personasOf(server).slice(3)).toEqual(["agent"]);
      const second = events.find((event) => event.type === "notice");
      expect(second?.type === "notice" && second.message).toContain("Personas: agent, python, toolsmith.");
    });
  });

  test("in direct:toolsmith a request for a tool is answered by the toolsmith alone; nobody else is pulled in", async () => {
    await withRoom({ script: { rules: [buildsATool("count words"), say("agent", "agent here")] } }, async ({ room, server, events }) => {
      room.setMode("direct:toolsmith");
      const summary = await room.send("please write a tool that counts words");
      expect(summary.messages.map((message) => message.from)).toEqual(["user", "toolsmith"]);
      expect(summary.messages[1]?.addressed).toEqual([]);
      expect(summary.messages[1]?.heardBy).toEqual(["toolsmith"]);
      expect(personasOf(server)).toEqual(["toolsmith"]);
      expect(events.filter((event) => event.type === "reply-start").map((event) => event.persona)).toEqual(["toolsmith"]);
    });
  });

  test("/use on a server whose /v1/models has no list switches anyway and says it could not check", async () => {
    const script: ScriptInput = { models: ["qwen3:8b", "other:1b"], rules: [say("agent", "ok")] };
    await withRoom({ script, personas: [{ name: "agent", kind: "agent" }] }, async ({ server }) => {
      // A gateway that forwards chat but answers /v1/models without a list.
      const gateway = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(request) {
          const url = new URL(request.url);
          if (url.pathname === "/v1/models") return Response.json({ object: "list" });
          return fetch(`${server.url}${url.pathname}`, { method: request.method, headers: request.headers, body: await request.text() });
        },
      });
      const gatewayUrl = `http://127.0.0.1:${gateway.port}`;
      const events: RoomEvent[] = [];
      const workspaceDir = join(base, `workspace-${workspaces++}`);
      const { mkdirSync } = await import("node:fs");
      mkdirSync(workspaceDir, { recursive: true });
      const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: gatewayUrl, OLLAMA_MODEL: "qwen3:8b" });
      config.personas = config.personas.filter((persona) => persona.name === "agent");
      const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], onEvent: (event) => events.push(event) });
      try {
        await room.useModel("agent", "other:1b");
        expect(room.personas()[0]?.model).toBe("other:1b");
        const notice = events.find((event) => event.type === "notice");
        expect(notice).toMatchObject({ reason: "model-list", persona: "agent" });
        expect(notice?.type === "notice" && notice.message).toContain("did not return a model list");
        expect(events.at(-1)).toEqual({ type: "model-changed", persona: "agent", model: "other:1b" });
        const summary = await room.send("hi");
        expect(summary.ok).toBe(true);
        expect((server.requests.at(-1)?.body as { model: string }).model).toBe("other:1b");
      } finally {
        await room.close();
        gateway.stop(true);
      }
    });
  });

  test("a stopped tool loop is reported as an incomplete reply in the summary and in turn-end", async () => {
    const loop: ScriptInput = { rules: [{ reply: { toolCalls: [{ name: "echo", arguments: { text: "again" } }] } }] };
    const helper = { name: "helper", kind: "simple" as const, tools: { echo: "allow" as const } };
    await withRoom({ script: loop, personas: [helper], limits: { toolRoundsPerTurn: 2 } }, async ({ room, events }) => {
      const summary = await room.send("loop");
      expect(summary.ok).toBe(true);
      expect(summary.incomplete).toEqual([{ persona: "helper", replyId: expect.any(String), reason: "max-rounds" }]);
      expect(events.at(-1)).toMatchObject({ type: "turn-end", incomplete: [{ persona: "helper", reason: "max-rounds" }] });
    });
  });
});

describe("persona strategies", () => {
  test("a toolsmith job streams progress steps through the one event stream: console, transcript and events", async () => {
    const steps: [string, "started" | "done" | "failed", string?][] = [
      ["spec", "started"],
      ["spec", "done", "word_count: text → { words }"],
      ["tests", "failed", "2 of 9 failed"],
    ];
    const jobModels: { server: string; modelId: string }[] = [];
    const toolsmithJob: RoomOptions["toolsmithJob"] = async ({ goal, host, progress }) => {
      jobModels.push({ server: host.model.server, modelId: host.model.modelId });
      for (const [step, status, detail] of steps) progress(step, status, detail);
      host.report({ type: "text-delta", text: `could not finish "${goal}" yet` });
      return { text: `could not finish "${goal}" yet`, addressed: [] };
    };
    await withRoom(
      { script: { rules: [buildsATool("count the words of a text")] }, personas: [{ name: "toolsmith", kind: "toolsmith" }], room: { toolsmithJob } },
      async ({ room, events, output, server }) => {
        const summary = await room.send("build a tool that counts words");
        // The goal is the model's, from its build_tool call.
        expect(summary.messages.at(-1)?.text).toBe('could not finish "count the words of a text" yet');
        expect(personasOf(server)).toEqual(["toolsmith"]);
        expect(jobModels).toEqual([{ server: server.url, modelId: "qwen3:8b" }]);
        const progress = events.filter((event) => event.type === "progress");
        expect(progress.map((event) => [event.persona, event.step, event.status])).toEqual(
          steps.map(([step, status]) => ["toolsmith", step, status]),
        );
        const replyId = events.find((event) => event.type === "reply-start")?.replyId;
        for (const event of progress) expect(event.replyId).toBe(replyId as string);
        const text = await output();
        expect(text).toContain("toolsmith │ ✓ spec: done · word_count: text → { words }");
        expect(text).toContain("toolsmith │ ✗ tests: failed · 2 of 9 failed");
        const lines = readFileSync(room.transcriptPath, "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line));
        expect(lines.filter((line) => line.type === "progress").map((line) => line.detail ?? null)).toEqual([
          null,
          "word_count: text → { words }",
          "2 of 9 failed",
        ]);
      },
    );
  });
});

describe("the toolsmith's model decides what is a request for a tool", () => {
  test('two requests in different words build; a question, and a "build a tool" the model answers in text, run nothing', async () => {
    const goals: string[] = [];
    const toolsmithJob: RoomOptions["toolsmithJob"] = async ({ goal, host, progress }) => {
      goals.push(goal);
      progress("branch", "done", "cand/test");
      const text = `${goal}: ready on branch cand/test`;
      host.report({ type: "text-delta", text });
      return { text, addressed: [] };
    };
    const rules = [
      buildsATool("count the words of a text", "how many words"),
      buildsATool("turn a title into a URL slug", "slug"),
      say("toolsmith", "A tool is a function the room's personas can call."),
    ];
    await withRoom(
      { script: { rules }, personas: [{ name: "toolsmith", kind: "toolsmith" }], room: { toolsmithJob } },
      async ({ room, server, events }) => {
        const words = await room.send("I keep needing to know how many words a paragraph has; could you whip up something?");
        expect(words.messages.at(-1)?.text).toBe("count the words of a text: ready on branch cand/test");
        const slug = await room.send("Titles to slugs for URLs, please: can the room get that?");
        expect(slug.messages.at(-1)?.text).toBe("turn a title into a URL slug: ready on branch cand/test");
        expect(goals).toEqual(["count the words of a text", "turn a title into a URL slug"]);

        const question = await room.send("What is a tool, anyway?");
        expect(question.messages.at(-1)?.text).toBe("A tool is a function the room's personas can call.");
        // The words of a request, but the model answered in text: that is the reply, no pipeline runs.
        const plain = await room.send("build a tool that counts words");
        expect(plain.messages.at(-1)?.text).toBe("A tool is a function the room's personas can call.");
        expect(goals).toHaveLength(2);
        expect(events.filter((event) => event.type === "progress")).toHaveLength(2);

        // Every reply was one model call, each offered build_tool.
        const offered = server.requests
          .filter((request) => request.path === "/v1/chat/completions")
          .map((request) => ((request.body as { tools?: { function: { name: string } }[] }).tools ?? []).map((tool) => tool.function.name));
        expect(offered).toEqual([["build_tool"], ["build_tool"], ["build_tool"], ["build_tool"]]);
      },
    );
  });
});

describe("transcript size and loss", () => {
  test("a 4 KB reply streamed in 3-character chunks makes a transcript of a few KB, and resume rebuilds the same messages", async () => {
    const long = Array.from({ length: 512 }, (_, index) => `w${String(index).padStart(3, "0")}-abc`)
      .join("")
      .slice(0, 4096);
    const script: ScriptInput = { rules: [{ when: { persona: "agent" }, reply: { text: long, chunkSize: 3, delayMs: 0 } }] };
    await withRoom({ script, personas: [{ name: "agent", kind: "agent" }] }, async ({ room, events, workspaceDir }) => {
      await room.send("talk at length");
      expect(events.filter((event) => event.type === "text-delta").length).toBeGreaterThan(1000);
      const history = room.history();
      expect(history.at(-1)?.text).toBe(long);
      const size = readFileSync(room.transcriptPath, "utf8").length;
      // The reply's text is there twice (its deltas and its message); one line per chunk would be ~150 KB.
      expect(size).toBeLessThan(3 * 4096);
      const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "qwen3:8b" });
      const resumed = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], resume: room.sessionId, onEvent() {} });
      try {
        expect(resumed.history()).toEqual(history);
      } finally {
        await resumed.close();
      }
    });
  });

  test("kill -9 while a stream is idle loses nothing: streamed text reaches the disk within one interval, not at reply end", async () => {
    const chunks = ["ALPHA-", "BRAVO-", "CHARLI", "DELTA-"];
    // Chunks seconds apart: after each one the stream is idle for far longer than the 100 ms interval.
    const script: ScriptInput = { rules: [{ when: { persona: "agent" }, reply: { text: chunks.join(""), chunkSize: 6, delayMs: 3000 } }] };
    const server = await startScriptedServer({ script, port: 0 });
    const workspaceDir = join(base, "killed-idle");
    const sessionsDir = join(workspaceDir, ".org", "sessions");
    const childScript = `
        import { mkdirSync } from "node:fs";
        import { loadOrgConfig } from ${JSON.stringify(join(import.meta.dir, "..", "config", "org-config.ts"))};
        import { openRoom } from ${JSON.stringify(join(import.meta.dir, "room.ts"))};
        import { testSandboxAccess } from ${JSON.stringify(join(import.meta.dir, "..", "testing", "test-sandbox.ts"))};
        mkdirSync(${JSON.stringify(workspaceDir)}, { recursive: true });
        const config = loadOrgConfig(${JSON.stringify(join(workspaceDir, "org.config.json"))}, { OLLAMA_BASE: ${JSON.stringify(server.url)}, OLLAMA_MODEL: "qwen3:8b" });
        let received = "";
        const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir: ${JSON.stringify(workspaceDir)}, tools: [], onEvent(event) {
          if (event.type === "text-delta") { received += event.text; console.log("received " + JSON.stringify(received)); }
        } });
        room.setMode("direct:agent");
        console.log("session " + room.sessionId);
        await room.send("tell me slowly");
      `;
    const child = Bun.spawn([process.execPath, "-e", childScript], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = child.stdout.getReader();
      let out = "";
      const readUntil = async (pattern: RegExp) => {
        while (!pattern.test(out)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the child ended before printing ${pattern}: ${out}`);
          out += new TextDecoder().decode(value);
        }
      };
      await readUntil(/session (\S+)\n/);
      const sessionId = /session (\S+)\n/.exec(out)?.[1] as string;
      await readUntil(/received .*\n/);
      const path = join(sessionsDir, `${sessionId}.jsonl`);
      const deltasOnDisk = () =>
        readFileSync(path, "utf8")
          .split("\n")
          .filter((line) => line.includes('"text-delta"'))
          .map((line) => (JSON.parse(line) as { text: string }).text)
          .join("");
      // Bounded: the interval is 100 ms; the next chunk is 3 s away.
      for (let i = 0; i < 1000 && deltasOnDisk() === ""; i += 1) await Bun.sleep(10);
      child.kill(9);
      await child.exited;
      for (let next = await reader.read(); !next.done; next = await reader.read()) out += new TextDecoder().decode(next.value);
      const received = JSON.parse(/received (.*)\n(?![\s\S]*received)/.exec(out)?.[1] as string) as string;
      const written = deltasOnDisk();
      // Everything the room had received was on disk when it died, and the reply had not ended.
      expect(written).toBe(received);
      expect(received.length).toBeLessThan(chunks.join("").length);
      expect(readFileSync(path, "utf8")).not.toContain('"type":"reply-end"');

      const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
      const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], resume: sessionId, onEvent() {} });
      try {
        const history = room.history();
        expect(history.map((message) => message.from)).toEqual(["user", "agent"]);
        expect(history[1]?.text).toBe(received);
        expect(history[1]?.failed).toContain("the session ended");
      } finally {
        await room.close();
      }
    } finally {
      child.kill(9);
      await server.stop();
    }
  }, 30_000);
});
