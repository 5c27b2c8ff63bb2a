import { loadConfirmedConfig } from "../testing/confirmed-config.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";
import { DEFAULT_TOOLS } from "../config/persona-entry.ts";
import type { OrgConfig, PersonaConfig } from "../config/org-config.ts";
import { OrgConfigError } from "../config/org-config-error.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { z } from "zod";
import { AuditLog } from "../security/audit-log.ts";
import { defineTool } from "../tools/define-tool.ts";
import { startLinkSwapper } from "../testing/link-swapper-process.ts";
import type { RoomEvent } from "./room-event.ts";
import { RoomModeError } from "./room-mode.ts";
import { openRoom, type Room } from "./room.ts";
import type { RoomOptions } from "./room-options.ts";
import { echoTool as makeEchoTool } from "../testing/echo-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const base = mkdtempSync(join(tmpdir(), "org-room-security-"));
// The sandbox drops to another uid, which must be able to enter the workspaces under it (mkdtemp makes it 0700).
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));
let workspaces = 0;

type Setup = {
  script: ScriptInput;
  personas?: (Partial<PersonaConfig> & { name: string; kind: PersonaConfig["kind"] })[];
  limits?: Partial<OrgConfig["limits"]>;
  configFile?: unknown;
  env?: Record<string, string>;
  /** Tool policies added per persona after loading (a config file cannot name test tools). */
  grant?: Record<string, Record<string, "allow" | "ask">>;
  room?: Partial<RoomOptions>;
};

type Context = { room: Room; server: ScriptedServer; events: RoomEvent[]; output: () => Promise<string>; workspaceDir: string };

/** A scripted server on 127.0.0.1, a room on it, and the console renderer's output. */
async function withRoom(setup: Setup, run: (context: Context) => Promise<void>) {
  const server = await startScriptedServer({ script: setup.script, port: 0 });
  const workspaceDir = join(base, `workspace-${workspaces++}`);
  mkdirSync(workspaceDir, { recursive: true });
  const configPath = join(workspaceDir, "org.config.json");
  if (setup.configFile !== undefined) writeFileSync(configPath, JSON.stringify(setup.configFile));
  const config = loadConfirmedConfig(configPath, { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b", ...setup.env }, { checkoutDir: workspaceDir });
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
  for (const persona of config.personas) Object.assign(persona.tools, setup.grant?.[persona.name] ?? {});
  let text = "";
  const renderer = createConsoleRenderer({ write: (chunk) => (text += chunk), color: false });
  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [],
    onEvent: (event) => {
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
}

const say = (persona: string, text: string) => ({ when: { persona }, reply: { text, chunkSize: 4 } });

describe("file mode cannot write outside the workspace or into org's state (invariant 13)", () => {
  test("a file: target inside .org/ or on org's config file is refused when the mode is set, by the user or a persona", async () => {
    const script: ScriptInput = {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "tool said: {{lastMessage}}" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "chat_mode", arguments: { mode: "file:.org/audit/today.jsonl" } }] } },
      ],
    };
    await withRoom(
      { script, personas: [{ name: "agent", kind: "agent" }], configFile: { mode: "group" } },
      async ({ room, events, workspaceDir }) => {
        mkdirSync(join(workspaceDir, ".org", "sessions"), { recursive: true });
        for (const target of [
          ".org/sessions/forged.jsonl",
          ".org/audit/2026-01-01.jsonl",
          ".org",
          "./.org/scratch/s/t",
          "org.config.json",
          "notes/../org.config.json",
        ]) {
          expect(() => room.setMode(`file:${target}`)).toThrow(RoomModeError);
        }
        expect(() => room.setMode("file:org.config.json")).toThrow("configuration file");
        expect(() => room.setMode("file:.org/sessions/forged.jsonl")).toThrow("inside .org/");
        // A persona's chat_mode call goes through the same check.
        await room.send("keep the audit log for me");
        const result = events.find((event) => event.type === "tool-result");
        expect(result).toMatchObject({ ok: false, call: { name: "chat_mode" } });
        expect(result?.type === "tool-result" && result.output).toContain("inside .org/");
        expect(room.mode).toEqual({ kind: "group" });
        expect(existsSync(join(workspaceDir, ".org", "audit", "today.jsonl"))).toBe(false);
      },
    );
  });

  test("a config whose start mode writes into .org/ is refused, naming the file and key", async () => {
    const workspaceDir = join(base, `workspace-${workspaces++}`);
    mkdirSync(workspaceDir);
    const configPath = join(workspaceDir, "org.config.json");
    writeFileSync(configPath, JSON.stringify({ mode: "file:.org/history" }));
    const config = loadConfirmedConfig(configPath, { OLLAMA_BASE: "http://127.0.0.1:9" }, { checkoutDir: workspaceDir });
    await expect(openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], onEvent: () => {} })).rejects.toBeInstanceOf(OrgConfigError);
  });

  test("a parent directory swapped for a symlink after the mode was set is refused with a notice; the console never says written", async () => {
    const script: ScriptInput = { rules: [say("agent", "first words"), say("python", "more words")] };
    const personas = [
      { name: "agent", kind: "agent" as const },
      { name: "python", kind: "python" as const },
    ];
    await withRoom({ script, personas }, async ({ room, events, output, workspaceDir }) => {
      room.setMode("file:notes/day/replies.md");
      const outside = join(base, `host-${workspaces}`);
      mkdirSync(outside);
      mkdirSync(join(workspaceDir, "notes"));
      symlinkSync(outside, join(workspaceDir, "notes", "day"));
      const summary = await room.send("write it down");
      expect(existsSync(join(outside, "replies.md"))).toBe(false);
      expect(summary.ok).toBe(false);
      expect(events.filter((event) => event.type === "file-written")).toHaveLength(0);
      const notices = events.filter((event) => event.type === "notice" && event.reason === "file-refused");
      expect(notices).toHaveLength(2);
      const text = await output();
      expect(text).not.toContain("reply written to");
      expect(text).toContain("was not written to notes/day/replies.md");
      expect(text).toContain("notes/day is a symbolic link");
    });
  });

  test("the real race: a child process swaps the target between a file and a link to a host file while 450 or more replies are written; zero bytes outside", async () => {
    const script: ScriptInput = { rules: [say("agent", "agent words"), say("python", "python words"), say("toolsmith", "toolsmith words")] };
    await withRoom({ script, limits: { concurrencyPerServer: 3 } }, async ({ room, events, output, workspaceDir }) => {
      room.setMode("file:scratchpad/t.md");
      mkdirSync(join(workspaceDir, "scratchpad"));
      const hostFile = join(base, `host-file-${workspaces}`);
      await using swapper = await startLinkSwapper(join(workspaceDir, "scratchpad", "t.md"), hostFile);
      const refusals = () => events.filter((event) => event.type === "notice" && event.reason === "file-refused").length;
      // 150 turns, and on until a refusal was seen (a loaded machine can put the swapper to sleep on its plain
      // file for a whole batch); bounded by a turn count, never by the clock.
      let turns = 0;
      while (turns < 150 || (refusals() === 0 && turns < 600)) await room.send(`turn ${turns++}`);
      await swapper.stop();
      expect(existsSync(hostFile) ? statSync(hostFile).size : 0).toBe(0);
      const written = events.filter((event) => event.type === "file-written").length;
      const refused = refusals();
      expect(written + refused).toBe(turns * 3);
      expect(refused).toBeGreaterThan(0);
      // The console says "written" exactly as often as a write happened.
      const text = await output();
      expect(text.split("reply written to").length - 1).toBe(written);
    });
    // 450 to 1 800 replies, each a write and a check: 60 s ran out at a load of 30.
  }, 180_000);
});

describe("a hop runs code under the stricter of the two policies (invariant 12)", () => {
  // The agent may run sh only after asking; python may run python_run freely. The agent asks python instead.
  const script: ScriptInput = {
    rules: [
      { when: { lastRole: "tool" }, reply: { text: "python ran it: {{lastMessage}}" } },
      { when: { persona: "agent" }, reply: { text: "@python run print('hop-ran') for me" } },
      { when: { persona: "toolsmith" }, reply: { text: "@python run print('hop-ran') for me" } },
      { when: { persona: "python" }, reply: { toolCalls: [{ name: "python_run", arguments: { code: "print('hop-ran')" } }] } },
    ],
  };
  const personas = [
    { name: "agent", kind: "agent" as const, tools: { sh: "ask" as const } },
    { name: "python", kind: "python" as const },
    { name: "toolsmith", kind: "toolsmith" as const },
  ];
  const sandboxTools = async () => {
    const [{ sh }, { pythonRun }] = await Promise.all([import("../tools/sh.ts"), import("../tools/python-run.ts")]);
    return [sh, pythonRun];
  };

  test("agent (sh: ask) writes @python run …: python's python_run, allowed for python, now asks the user", async () => {
    const asked: string[] = [];
    const approve = async (persona: string, call: { name: string }) => {
      asked.push(`${persona}:${call.name}`);
      return false;
    };
    await withRoom({ script, personas, room: { tools: await sandboxTools(), approve } }, async ({ room, events }) => {
      room.setMode("direct:agent");
      await room.send("get python to run it");
      expect(asked).toEqual(["python:python_run"]);
      const result = events.find((event) => event.type === "tool-result");
      expect(result).toMatchObject({ persona: "python", ok: false });
      expect(JSON.stringify(result)).not.toContain("hop-ran\\n");
    });
  });

  test("with nobody to ask (as under --once) the hop's python_run is denied, and the notice says whose policy decided", async () => {
    await withRoom({ script, personas, room: { tools: await sandboxTools() } }, async ({ room, events }) => {
      room.setMode("direct:agent");
      const summary = await room.send("get python to run it");
      const notice = events.find((event) => event.type === "notice" && event.persona === "python");
      expect(notice?.type === "notice" && notice.message).toContain(`agent's policy (agent asked python for this) marks it "ask"`);
      expect(events.find((event) => event.type === "tool-result")).toMatchObject({ persona: "python", ok: false });
      expect(summary.messages.map((message) => message.text).join("\n")).not.toContain("hop-ran\n");
    });
  });

  test("approved, it runs in the sandbox and the audit line says the agent's policy decided; asked by the user, python's own", async () => {
    const approve = async () => true;
    const auditDir = join(base, `audit-${workspaces}`);
    const audit = new AuditLog(auditDir);
    await withRoom({ script, personas, room: { tools: await sandboxTools(), approve, audit } }, async ({ room }) => {
      room.setMode("direct:agent");
      await room.send("get python to run it");
      await room.send("@python run it yourself");
      const lines = readdirSync(auditDir).flatMap((file) =>
        readFileSync(join(auditDir, file), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line)),
      );
      expect(lines.map((line) => [line.persona, line.tool, line.policyFrom, line.ok])).toEqual([
        ["python", "python_run", "agent", true],
        ["python", "python_run", "python", true],
      ]);
    });
  }, 60_000);

  test("a persona that may run no code at all cannot get code run by naming one that may", async () => {
    const asked: string[] = [];
    const approve = async (persona: string) => {
      asked.push(persona);
      return true;
    };
    await withRoom({ script, personas, room: { tools: await sandboxTools(), approve } }, async ({ room, events }) => {
      room.setMode("direct:toolsmith");
      await room.send("get python to run it");
      expect(asked).toEqual([]);
      const result = events.find((event) => event.type === "tool-result");
      expect(result).toMatchObject({ persona: "python", ok: false });
      expect(result?.type === "tool-result" && result.output).toContain("toolsmith's policy");
    });
  });
});

describe("credentials go only to their server and are never printed or stored (invariant 11)", () => {
  const openaiKey = "k1-Zq9xWv7Ut5Sr3Po1Nm";
  const farKey = "k2-Hy6Gt4Fr2De0Sw8Aq";
  const echoTool = makeEchoTool();

  test("OPENAI_API_KEY reaches only OLLAMA_BASE; a server with apiKeyEnv gets its own key; any other server none", async () => {
    const far = await startScriptedServer({ script: { rules: [{ reply: { text: "far reply" } }] } });
    const other = await startScriptedServer({ script: { rules: [{ reply: { text: "other reply" } }] } });
    try {
      const script: ScriptInput = { rules: [{ reply: { text: "near reply" } }] };
      const configFile = { servers: { [far.url]: { apiKeyEnv: "FAR_KEY" } } };
      const personas = [
        { name: "near", kind: "simple" as const },
        { name: "far", kind: "simple" as const, server: far.url },
        { name: "other", kind: "simple" as const, server: other.url },
      ];
      await withRoom(
        { script, personas, configFile, env: { OPENAI_API_KEY: openaiKey, FAR_KEY: farKey }, limits: { concurrencyPerServer: 3 } },
        async ({ room, server }) => {
          const summary = await room.send("hello all");
          expect(summary.ok).toBe(true);
          const chats = (requests: ScriptedServer["requests"]) => requests.filter((request) => request.path === "/v1/chat/completions");
          expect(chats(server.requests).map((request) => request.authorization)).toEqual([`Bearer ${openaiKey}`]);
          expect(chats(far.requests).map((request) => request.authorization)).toEqual([`Bearer ${farKey}`]);
          expect(chats(other.requests).map((request) => request.authorization)).toEqual([undefined]);
        },
      );
    } finally {
      await far.stop();
      await other.stop();
    }
  });

  test("a server echoing the key in its text, reasoning, tool arguments and a 401 body: the key is in no console line, event or transcript", async () => {
    const script: ScriptInput = {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "done: {{lastMessage}}" } },
        {
          when: { persona: "agent" },
          reply: {
            reasoning: `the key is ${openaiKey}, I will show it`,
            text: `Your key is ${openaiKey} — keep it safe.`,
            toolCalls: [{ name: "echo", arguments: { text: `key=${openaiKey}` } }],
            chunkSize: 3,
          },
        },
        { when: { persona: "python" }, reply: { fault: { status: 401, message: `invalid api key ${openaiKey} for this server` } } },
      ],
    };
    const personas = [
      { name: "agent", kind: "agent" as const, tools: { echo: "allow" as const } },
      { name: "python", kind: "python" as const },
    ];
    await withRoom(
      { script, personas, env: { OPENAI_API_KEY: openaiKey }, limits: { concurrencyPerServer: 2 }, room: { tools: [echoTool] } },
      async ({ room, server, events, output }) => {
        const summary = await room.send("what is my key?");
        // The key was really in play: sent to the server, and the server sent it back.
        expect(server.requests.some((request) => request.authorization === `Bearer ${openaiKey}`)).toBe(true);
        expect(events.some((event) => event.type === "error" && event.persona === "python" && event.message.includes("HTTP 401"))).toBe(true);
        expect(events.some((event) => event.type === "tool-call")).toBe(true);
        const console = await output();
        expect(console).toContain("Your key is [REDACTED]");
        expect(console).not.toContain(openaiKey);
        expect(JSON.stringify(events)).not.toContain(openaiKey);
        expect(readFileSync(room.transcriptPath, "utf8")).not.toContain(openaiKey);
        expect(JSON.stringify(summary)).not.toContain(openaiKey);
        // Nor does it reach another persona's context.
        expect(JSON.stringify(room.history())).not.toContain(openaiKey);
      },
    );
  });

  test("a token in OLLAMA_BASE's userinfo goes as a header and never into events, the transcript or an error", async () => {
    const token = "t0ken-Rq8Lp3Vz6Wx1Bn";
    const dead = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const deadPort = dead.port as number;
    dead.stop(true);
    const script: ScriptInput = { rules: [{ reply: { text: "near reply", chunkSize: 2 } }] };
    const server = await startScriptedServer({ script });
    const base = server.url.replace("http://", `http://alice:${token}@`);
    try {
      await withRoom(
        {
          script,
          configFile: {
            personas: [
              { name: "near", kind: "simple" },
              { name: "gone", kind: "simple", baseUrl: `http://bob:${token}@127.0.0.1:${deadPort}` },
            ],
          },
          env: { OLLAMA_BASE: base },
        },
        async ({ room, events, output }) => {
          const summary = await room.send("hello");
          const chats = server.requests.filter((request) => request.path === "/v1/chat/completions");
          expect(chats.map((request) => request.authorization)).toEqual([`Basic ${Buffer.from(`alice:${token}`).toString("base64")}`]);
          const error = events.find((event) => event.type === "error");
          expect(error?.type === "error" && error.message).toContain(`no model server answered at http://127.0.0.1:${deadPort}`);
          expect(events.some((event) => event.type === "waiting")).toBe(true);
          for (const text of [
            JSON.stringify(events),
            readFileSync(room.transcriptPath, "utf8"),
            await output(),
            JSON.stringify(summary),
            JSON.stringify(room.personas()),
          ]) {
            expect(text).not.toContain(token);
          }
        },
      );
    } finally {
      await server.stop();
    }
  });
});

describe("the audit log and the models see tool calls redacted too", () => {
  test("a URL token a server echoes into a tool call's arguments is in neither the audit log nor the tool result sent back", async () => {
    const token = "t0ken-Ab3Cd5Ef7Gh9Jk1";
    const echoTool = makeEchoTool();
    const script: ScriptInput = {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "done" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "echo", arguments: { text: `the token is ${token}` } }] } },
      ],
    };
    const server = await startScriptedServer({ script });
    const auditDir = join(base, `audit-token-${workspaces}`);
    try {
      await withRoom(
        {
          script,
          configFile: { personas: [{ name: "agent", kind: "agent" }] },
          env: { OLLAMA_BASE: server.url.replace("http://", `http://alice:${token}@`) },
          grant: { agent: { echo: "allow" } },
          room: { tools: [echoTool], audit: new AuditLog(auditDir) },
        },
        async ({ room }) => {
          await room.send("echo it");
        },
      );
      const chats = server.requests.filter((request) => request.path === "/v1/chat/completions");
      expect(chats.length).toBe(2);
      expect(JSON.stringify(chats[1]?.body)).toContain("echo: the token is [REDACTED]");
      expect(JSON.stringify(chats[1]?.body)).not.toContain(`echo: the token is ${token}`);
      const audit = readdirSync(auditDir)
        .map((file) => readFileSync(join(auditDir, file), "utf8"))
        .join("");
      expect(audit).toContain('"tool":"echo"');
      expect(audit).not.toContain(token);
    } finally {
      await server.stop();
    }
  });
});

test("the approval question gets the call with the room's credentials redacted", async () => {
  const token = "t0ken-Zx2Cv4Bn6Mq8Wr0";
  const script: ScriptInput = {
    rules: [
      { when: { lastRole: "tool" }, reply: { text: "done" } },
      { when: { persona: "agent" }, reply: { toolCalls: [{ name: "echo", arguments: { text: `curl -u alice:${token} …` } }] } },
    ],
  };
  const server = await startScriptedServer({ script });
  const asked: unknown[] = [];
  const echoTool = defineTool("echo", {
    description: "Echoes its text back.",
    parameters: z.object({ text: z.string() }),
    async execute({ text }) {
      return `echo: ${text.length} characters`;
    },
  });
  try {
    await withRoom(
      {
        script,
        configFile: { personas: [{ name: "agent", kind: "agent" }] },
        env: { OLLAMA_BASE: server.url.replace("http://", `http://alice:${token}@`) },
        grant: { agent: { echo: "ask" } },
        room: {
          tools: [echoTool],
          approve: async (_persona, call) => {
            asked.push(call);
            return true;
          },
        },
      },
      async ({ room }) => {
        await room.send("echo it");
      },
    );
    expect(asked).toHaveLength(1);
    expect(JSON.stringify(asked)).toContain("[REDACTED]");
    expect(JSON.stringify(asked)).not.toContain(token);
  } finally {
    await server.stop();
  }
});

describe("a damaged transcript at resume", () => {
  test("the skipped lines are counted and named to the user, not dropped in silence", async () => {
    const script: ScriptInput = { rules: [say("agent", "first answer")] };
    await withRoom({ script, personas: [{ name: "agent", kind: "agent" }] }, async ({ room, workspaceDir, server }) => {
      await room.send("hello");
      await room.close();
      const lines = readFileSync(room.transcriptPath, "utf8").trimEnd().split("\n");
      // A line cut short, a line of another shape, and twelve lines of junk after them.
      lines.splice(2, 0, '{"type":"text-delta","replyId":"x","pers');
      lines.splice(4, 0, '{"type":"no-such-event"}');
      writeFileSync(room.transcriptPath, `${[...lines, ...Array.from({ length: 12 }, (_, index) => `junk ${index}`)].join("\n")}\n`);

      const config = loadConfirmedConfig(
        join(workspaceDir, "org.config.json"),
        { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" },
        { checkoutDir: workspaceDir },
      );
      let text = "";
      const renderer = createConsoleRenderer({ write: (chunk) => (text += chunk), color: false });
      const events: RoomEvent[] = [];
      const resumed = await openRoom({
        ...testSandboxAccess(),
        config,
        workspaceDir,
        tools: [],
        resume: room.sessionId,
        onEvent: (event) => {
          events.push(event);
          renderer.handle(event);
        },
      });
      try {
        expect(resumed.history().map((message) => message.text)).toEqual(["hello", "first answer"]);
        const notice = events.find((event) => event.type === "notice" && event.reason === "damaged-transcript");
        expect(notice?.type === "notice" && notice.message).toContain("14 damaged lines");
        expect(notice?.type === "notice" && notice.message).toContain(`lines 3, 5, ${lines.length + 1}, ${lines.length + 2},`);
        expect(notice?.type === "notice" && notice.message).toContain("and 4 more");
        await renderer.idle();
        expect(text).toContain("14 damaged lines");
      } finally {
        await resumed.close();
      }
    });
  });
});

describe("what a failing server says", () => {
  test("a model the server lacks is named with where its name came from: the config file's key, not OLLAMA_MODEL", async () => {
    const script: ScriptInput = { models: ["qwen3:8b"], rules: [say("agent", "hi")] };
    await withRoom(
      {
        script,
        configFile: {
          personas: [
            { name: "agent", kind: "agent" },
            { name: "coder", kind: "simple", model: "codellama:99b" },
          ],
        },
      },
      async ({ room, events }) => {
        await room.send("hello");
        const error = events.find((event) => event.type === "error" && event.persona === "coder");
        expect(error?.type === "error" && error.message).toContain("model 'codellama:99b' not found");
        expect(error?.type === "error" && error.message).toContain("name another in");
        expect(error?.type === "error" && error.message).toContain("org.config.json (personas[1].model)");
        expect(error?.type === "error" && error.message).not.toContain("OLLAMA_MODEL");
      },
    );
  });
});
