// One config, one workspace, one checkout: the room as chat, serve (sessions, jobs, the OpenAI route) and demo
// open it offers the same tools under the same policies; and the drift the three copies had stays fixed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openChatRoom } from "../cli/chat/chat-room.ts";
import { parseChatArgs } from "../cli/chat/chat-args.ts";
import { openDemoRoom } from "../cli/chat/demo-command.ts";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { orgVersion } from "../config/version.ts";
import { openMemoryForRoom } from "../memory/open-memory.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import { openRoom, type Room } from "../room/room.ts";
import type { PersonaInfo } from "../room/persona-info.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { createServeHandler, type ServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { orgCodeCopy } from "../testing/org-clone.ts";
import { simpleSpec, WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool } from "../testing/generated-tool-fixture.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { toolsmithJob } from "../toolsmith/toolsmith-job.ts";
import { assembleRoom } from "./assemble-room.ts";
import { builtInTools } from "./room-tools.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { toolsmithRecords } from "../fitness/toolsmith-records.ts";

const BASE = "http://127.0.0.1";
const GREETING = { rules: [{ reply: { text: "hello" } }] };

type World = { server: ScriptedServer; workspaceDir: string; checkoutDir: string; memory: MemoryStore | undefined; cleanup: () => void };

/** A workspace with one promoted tool, a checkout with another and one named like the built-in `sh`. */
async function world(): Promise<World> {
  const server = await startScriptedServer({ script: GREETING, port: 0 });
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-assembly-ws-"));
  chmodSync(workspaceDir, 0o755);
  writeGeneratedTool(
    workspaceDir,
    wordCountSpec("ws_count", "Counts the words of a text (the workspace's tool)."),
    WORD_COUNT_CODE,
    WORD_COUNT_TESTS,
  );
  const checkout = tempGitRepo("org-assembly-checkout-");
  writeGeneratedTool(checkout.dir, simpleSpec("echo_text", "Echoes a text back (the checkout's tool)."));
  writeGeneratedTool(checkout.dir, simpleSpec("sh", "A generated tool that wants to be the built-in sh."));
  const memory = openMemoryForRoom(workspaceDir, () => {});
  return {
    server,
    workspaceDir,
    checkoutDir: checkout.dir,
    memory,
    cleanup: () => {
      memory?.close();
      rmSync(workspaceDir, { recursive: true, force: true });
      checkout[Symbol.dispose]();
    },
  };
}

function configFor(at: World, limits: Partial<OrgConfig["limits"]> = {}, serve: Partial<OrgConfig["serve"]> = {}): OrgConfig {
  const config = loadOrgConfig(
    join(at.workspaceDir, "org.config.json"),
    { OLLAMA_BASE: at.server.url, OLLAMA_MODEL: "qwen3:8b" },
    { workspaceDir: at.workspaceDir, checkoutDir: at.checkoutDir },
  );
  Object.assign(config.limits, limits);
  Object.assign(config.serve, serve);
  return config;
}

/** serve as `org serve` builds it: the assembly's built-ins, the workspace's and checkout's promoted tools. */
async function serveFor(at: World, config: OrgConfig): Promise<{ handler: ServeHandler; tools: ServedTools; errors: string[] }> {
  const memory = at.memory;
  const tools = await ServedTools.open(at.checkoutDir, builtInTools({ config, ...(memory ? { memory } : {}) }), at.workspaceDir);
  const errors: string[] = [];
  const handler = createServeHandler({
    ...testSandboxAccess(),
    config,
    workspaceDir: at.workspaceDir,
    tools,
    version: orgVersion(),
    toolsmithJob: toolsmithJob({ records: toolsmithRecords, ...testSandboxAccess(), repoDir: at.checkoutDir, settings: config.toolsmith }),
    logError: (line) => errors.push(line),
    ...(memory ? { memory } : {}),
  });
  return { handler, tools, errors };
}

function chatSetup(at: World, config: OrgConfig) {
  return { options: parseChatArgs([]), workspaceDir: at.workspaceDir, config, color: false };
}

/** What a room offers: each persona's tools with their policies ("ask" is what it would ask about). */
const offers = (personas: PersonaInfo[]) => Object.fromEntries(personas.map((persona) => [persona.name, persona.policies]));

/** The tool names of the last chat request the scripted server got. */
function lastOfferedTools(server: ScriptedServer): string[] {
  const request = server.requests.filter((entry) => entry.path.endsWith("/chat/completions")).at(-1);
  const body = request?.body as { tools?: { function: { name: string } }[] } | undefined;
  return (body?.tools ?? []).map((tool) => tool.function.name).sort();
}

function post(path: string, body: unknown): Request {
  return new Request(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function untilJobDone(handler: ServeHandler, id: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const job = (await (await handler.fetch(new Request(`${BASE}/v1/jobs/${id}`))).json()) as { state: string };
    if (job.state !== "queued" && job.state !== "running") return;
    await Bun.sleep(50);
  }
  throw new Error(`job ${id} did not finish`);
}

describe("one room assembly for chat, serve and demo", () => {
  let at: World;
  beforeAll(async () => {
    at = await world();
  });
  afterAll(async () => {
    await at.server.stop();
    at.cleanup();
  });

  test("every entry point offers the same tools under the same policies, to the model too", async () => {
    const config = configFor(at);
    const chat = await openChatRoom(
      chatSetup(at, config),
      async () => false,
      () => {},
      { checkoutDir: at.checkoutDir },
    );
    const demo = await openDemoRoom({ ...testSandboxAccess(), config, workspaceDir: at.workspaceDir, toolRepoDir: at.checkoutDir }, () => {});
    const serve = await serveFor(at, config);
    try {
      const lease = await serve.handler.sessions.lease(undefined, "parity", AbortSignal.timeout(30_000));
      const served = offers(lease.room.personas());
      lease.release();
      const chatOffers = offers(chat.room.personas());
      expect(offers(demo.room.personas())).toEqual(chatOffers);
      expect(served).toEqual(chatOffers);
      // The workspace's and the checkout's promoted tools, memory, workflows; the generated "sh" never replaces the built-in.
      expect(chatOffers.agent).toMatchObject({
        sh: "allow",
        ws_count: "ask",
        echo_text: "ask",
        workflow_run: "ask",
        memory_search: "allow",
        memory_save: "allow",
      });

      // What the agent's model is offered, turn by turn, from each entry point.
      const seen: Record<string, string[]> = {};
      await chat.room.send("@agent hello", { signal: AbortSignal.timeout(60_000) });
      seen.chat = lastOfferedTools(at.server);
      await demo.room.send("@agent hello", { signal: AbortSignal.timeout(60_000) });
      seen.demo = lastOfferedTools(at.server);
      await (await serve.handler.fetch(post("/v1/messages", { text: "hello", mode: "direct:agent" }))).text();
      seen.messages = lastOfferedTools(at.server);
      const completion = await serve.handler.fetch(post("/v1/chat/completions", { model: "agent", messages: [{ role: "user", content: "hello" }] }));
      expect(completion.status).toBe(200);
      seen.openai = lastOfferedTools(at.server);
      const job = (await (await serve.handler.fetch(post("/v1/jobs", { text: "hello", mode: "direct:agent" }))).json()) as { id: string };
      await untilJobDone(serve.handler, job.id);
      seen.jobs = lastOfferedTools(at.server);
      expect(seen.chat).toContain("ws_count");
      expect(seen.chat).toContain("echo_text");
      for (const entry of ["demo", "messages", "openai", "jobs"])
        expect({ entry, tools: seen[entry] }).toEqual({ entry, tools: seen.chat as string[] });

      // /v1/tools says what a room's persona may do with each tool, the same as the room does.
      const listed = (await (await serve.handler.fetch(new Request(`${BASE}/v1/tools`))).json()) as {
        tools: { name: string; personas: Record<string, string> }[];
        notOffered?: { name: string }[];
      };
      for (const tool of listed.tools) {
        if (tool.name === "chat_mode") continue;
        expect({ tool: tool.name, policy: tool.personas.agent }).toEqual({ tool: tool.name, policy: chatOffers.agent?.[tool.name] ?? "deny" });
      }
      expect(listed.notOffered?.map((entry) => entry.name)).toContain("sh");
    } finally {
      await chat.room.close();
      await demo.close();
      await serve.handler.close();
      serve.tools.stop();
    }
  }, 180_000);
});

describe("the drift the three copies had", () => {
  let at: World;
  beforeAll(async () => {
    at = await world();
  });
  afterAll(async () => {
    await at.server.stop();
    at.cleanup();
  });

  test("serve chooses tools per turn as chat does (find_tool, at most generatedToolsPerTurn)", async () => {
    const config = configFor(at, { generatedToolsPerTurn: 1 });
    const serve = await serveFor(at, config);
    try {
      await (await serve.handler.fetch(post("/v1/messages", { text: "hello", mode: "direct:agent" }))).text();
      const offered = lastOfferedTools(at.server);
      expect(offered).toContain("find_tool");
      expect(offered.filter((name) => name === "ws_count" || name === "echo_text").length).toBeLessThanOrEqual(1);
    } finally {
      await serve.handler.close();
      serve.tools.stop();
    }
  }, 120_000);

  test("serve offers and runs the workspace's promoted tool its config accepts (it was a 404)", async () => {
    const config = configFor(at, {}, { tools: { ws_count: "allow" } });
    const serve = await serveFor(at, config);
    try {
      const ran = await serve.handler.fetch(post("/v1/tools/ws_count/run", { inputs: { text: "one two three" } }));
      expect(ran.status).toBe(200);
      expect(((await ran.json()) as { data: unknown }).data).toEqual({ words: 3 });
    } finally {
      await serve.handler.close();
      serve.tools.stop();
    }
  }, 120_000);

  test("/v1/tools says what a /v1/messages turn does with sh (it said only 'ask', the HTTP route's policy)", async () => {
    const serve = await serveFor(at, configFor(at));
    try {
      const listed = (await (await serve.handler.fetch(new Request(`${BASE}/v1/tools`))).json()) as {
        tools: { name: string; http: string; personas?: Record<string, string> }[];
      };
      const sh = listed.tools.find((tool) => tool.name === "sh");
      expect(sh?.http).toBe("ask");
      expect(sh?.personas?.agent).toBe("allow");
    } finally {
      await serve.handler.close();
      serve.tools.stop();
    }
  }, 60_000);

  test("a promoted tool named like a built-in is refused in chat (it replaced the built-in) with a notice", async () => {
    const config = configFor(at);
    const notices: string[] = [];
    const assembly = await assembleRoom({
      ...testSandboxAccess(),
      config,
      workspaceDir: at.workspaceDir,
      checkoutDir: at.checkoutDir,
      notify: (line) => notices.push(line),
    });
    assembly.close();
    expect(assembly.generated.map((entry) => entry.tool.name).sort()).toEqual(["echo_text", "ws_count"]);
    expect(notices.some((line) => line.includes("sh") && line.includes("built-in"))).toBe(true);
    let room: Room | undefined;
    try {
      ({ room } = await openChatRoom(
        chatSetup(at, config),
        async () => false,
        () => {},
        { checkoutDir: at.checkoutDir },
      ));
      await room.send("@agent hello", { signal: AbortSignal.timeout(60_000) });
      const request = at.server.requests.filter((entry) => entry.path.endsWith("/chat/completions")).at(-1);
      const tools = (request?.body as { tools: { function: { name: string; description: string } }[] }).tools;
      const sh = tools.filter((tool) => tool.function.name === "sh");
      expect(sh.length).toBe(1);
      expect(sh[0]?.function.description).not.toContain("generated tool");
    } finally {
      await room?.close();
    }
  }, 120_000);
});

test("the version comes from package.json, for --version as for serve", () => {
  using clone = orgCodeCopy("org-version-");
  const file = join(clone.dir, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8")) as { version: string };
  writeFileSync(file, `${JSON.stringify({ ...manifest, version: "7.7.7-test" }, null, 2)}\n`);
  const run = Bun.spawnSync(orgCommand(["--version"], { checkoutDir: clone.dir }), {
    cwd: clone.dir,
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  expect(run.stdout.toString().trim()).toBe("7.7.7-test");
  expect(orgVersion()).toBe((JSON.parse(readFileSync(join(import.meta.dir, "..", "package.json"), "utf8")) as { version: string }).version);
}, 120_000);

test("a tool index that cannot be opened leaves every allowed tool offered, with a notice; the room still opens", async () => {
  using checkout = tempGitRepo("org-assembly-noindex-");
  writeGeneratedTool(checkout.dir, simpleSpec("echo_text", "Echoes a text back."));
  writeGeneratedTool(checkout.dir, simpleSpec("echo_twice", "Echoes a text back twice."));
  // .org is a file: the registry's folder cannot be made there.
  writeFileSync(join(checkout.dir, ".org"), "not a folder\n");
  const config = loadOrgConfig(
    join(checkout.dir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "qwen3:8b" },
    { workspaceDir: checkout.dir, checkoutDir: checkout.dir },
  );
  config.limits.generatedToolsPerTurn = 1;
  const notices: string[] = [];
  const assembly = await assembleRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir: checkout.dir,
    checkoutDir: checkout.dir,
    toolsmith: false,
    notify: (line) => notices.push(line),
  });
  assembly.close();
  expect(assembly.toolChoice).toBeUndefined();
  expect(assembly.generated.length).toBe(2);
  expect(notices.join("\n")).toContain("could not open the tool index");
});

test("the assembly's sandbox policy reaches the room's tools: the sandbox turned off there runs sh on the host", async () => {
  await using server = await startScriptedServer({
    script: {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "ran" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "id -u; pwd" } }] } },
      ],
    },
    port: 0,
  });
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-assembly-policy-"));
  chmodSync(workspaceDir, 0o755);
  using checkout = tempGitRepo("org-assembly-policy-checkout-");
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" },
    { workspaceDir, checkoutDir: checkout.dir },
  );
  const uidThrough = async (policy: ReturnType<typeof sandboxPolicy> | undefined) => {
    const assembly = await assembleRoom({
      ...testSandboxAccess(),
      config,
      workspaceDir,
      checkoutDir: checkout.dir,
      toolsmith: false,
      notify: () => {},
      ...(policy ? { sandboxPolicy: policy } : {}),
    });
    const events: RoomEvent[] = [];
    const room = await openRoom(assembly.options({ onEvent: (event) => events.push(event), prepareTools: false }));
    try {
      await room.send("@agent who are you?", { signal: AbortSignal.timeout(60_000) });
    } finally {
      await room.close();
      assembly.close();
    }
    const result = events.find((event) => event.type === "tool-result");
    return result?.type === "tool-result" ? result.output : undefined;
  };
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let host: string | undefined;
  try {
    host = await uidThrough(sandboxPolicy({ enabled: false }));
  } finally {
    process.stderr.write = write;
  }
  try {
    expect(host).toContain(`stdout:\n${process.getuid?.()}\n${join(workspaceDir, ".org", "scratch")}`);
    // Made from the config and this test's environment (no ORG_SANDBOX=off): sandboxed.
    expect(await uidThrough(undefined)).toContain("stdout:\n65534\n/workspace\n");
  } finally {
    rmSync(workspaceDir, { recursive: true, force: true });
  }
}, 120_000);

test("serve's tool route runs under the policy serve was assembled with, not one read from the environment", async () => {
  using checkout = tempGitRepo("org-assembly-serve-policy-");
  const runSh = async (handlerOptions: Parameters<typeof serveFixture>[0]["handlerOptions"]) => {
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: checkout.dir, serve: { tools: { sh: "allow" } }, handlerOptions });
    const response = await fixture.handler.fetch(
      new Request(`${BASE}/v1/tools/sh/run`, {
        method: "POST",
        body: JSON.stringify({ inputs: { cmd: "id -u; pwd" } }),
        headers: { "content-type": "application/json" },
      }),
    );
    return { stdout: ((await response.json()) as { data?: { stdout?: string } }).data?.stdout, workspaceDir: fixture.workspaceDir };
  };
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let off: { stdout: string | undefined; workspaceDir: string };
  try {
    off = await runSh({ sandboxPolicy: sandboxPolicy({ enabled: false }) });
  } finally {
    process.stderr.write = write;
  }
  expect(off.stdout).toBe(`${process.getuid?.()}\n${join(off.workspaceDir, ".org", "scratch", "http")}\n`);
  expect((await runSh(undefined)).stdout).toBe("65534\n/workspace\n");
}, 120_000);
