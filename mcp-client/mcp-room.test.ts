import { loadConfirmedConfig } from "../testing/confirmed-config.ts";
// The room's MCP client against servers someone else wrote, from the npm registry, as real processes:
// @modelcontextprotocol/server-everything (every feature: progress, logging, structured content, an env dump) and
// @modelcontextprotocol/server-filesystem (on a scratch folder, as the user and in the sandbox). A scripted persona
// calls their tools through the room the assembly builds for chat, serve and demo. One set of servers serves every case.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RoomAssembly, assembleRoom } from "../assembly/assemble-room.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom, type Room } from "../room/room.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { descendants } from "../testing/process-tree.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { recordTrust } from "./mcp-trust.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { isSameProcess, type ProcessIdentity, startTime } from "../testing/test-run-reaper.ts";

const NODE_MODULES = join(import.meta.dir, "..", "node_modules");
const EVERYTHING = join(NODE_MODULES, "@modelcontextprotocol", "server-everything", "dist", "index.js");
const FILESYSTEM = join(NODE_MODULES, "@modelcontextprotocol", "server-filesystem", "dist", "index.js");
// The servers run under the bun running this test (no node on PATH needed); a sandboxed one sees it where it is.
const BUN = process.execPath;
const BUN_MOUNT = BUN.startsWith(`${NODE_MODULES}/`) || BUN.startsWith("/usr/") ? [] : [BUN];
const TOKEN = `mcp-test-${crypto.randomUUID()}`;

type World = {
  workspace: string;
  filesRoot: string;
  config: OrgConfig;
  assembly: RoomAssembly;
  room: Room;
  events: RoomEvent[];
  approvals: { persona: string; call: ToolCall; why?: string }[];
  answers: boolean[];
};

let at: World;
// Each with its start time: by afterAll the process may be gone and its pid another process's.
const afterAllKill: ProcessIdentity[] = [];

/** The persona's model: "call NAME {json}" makes it call NAME; a tool result makes it say what came back. */
const persona = scriptedModel(
  (request) => {
    const last = request.messages.at(-1);
    const text = typeof last?.content === "string" ? last.content : "";
    // "call A {…} then call B {…}": B once A's result is in.
    const asked = request.messages.findLast((message) => message.role === "user")?.content;
    const then = /\bthen call (\S+) (\{.*\})\s*$/s.exec(typeof asked === "string" ? asked : "");
    if (last?.role === "tool" && then && last.name !== then[1])
      return { toolCalls: [{ name: then[1] ?? "", arguments: JSON.parse(then[2] ?? "{}") }] };
    if (last?.role === "tool") return { text: `the tool said: ${text.slice(0, 200)}` };
    const match = /call (\S+) (\{.*\})\s*$/s.exec(text.split(" then call ")[0] ?? "");
    if (!match) return { text: "nothing to call" };
    return { toolCalls: [{ name: match[1] ?? "", arguments: JSON.parse(match[2] ?? "{}") }] };
    // The published servers' tools and their schemas take more than a default 4096-token window holds.
  },
  { contextTokens: 32_768 },
);

/** One user message; the tool results and notices it brought. */
async function say(text: string): Promise<{ results: Extract<RoomEvent, { type: "tool-result" }>[]; notices: string[] }> {
  const from = at.events.length;
  await at.room.send(text);
  const events = at.events.slice(from);
  return {
    results: events.filter((event): event is Extract<RoomEvent, { type: "tool-result" }> => event.type === "tool-result"),
    notices: events.flatMap((event) => (event.type === "notice" ? [event.message] : [])),
  };
}

function status(name: string) {
  const found = at.assembly.mcp?.status().find((entry) => entry.name === name);
  if (!found) throw new Error(`no server ${name}`);
  return found;
}

/** The server's own process (bun running the package), below its launcher. */
function serverProcess(name: string): number {
  const group = status(name).pid;
  if (group === undefined) throw new Error(`${name} is not running`);
  const pid = descendants(group).find((child) => {
    try {
      // Not the launcher's watcher (a forked shell with the same command line): the program itself.
      return readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0")[0] === BUN;
    } catch {
      return false;
    }
  });
  if (pid === undefined) throw new Error(`no server process below ${group}`);
  return pid;
}

const offered = () => [...new Set(persona.requests.at(-1)?.tools?.map((tool) => tool.function.name) ?? [])];

beforeAll(async () => {
  // (The servers' first start is bounded by mcp.startTimeoutS.)
  const workspace = mkdtempSync(join(tmpdir(), "org-mcp-room-"));
  chmodSync(workspace, 0o755);
  const filesRoot = join(workspace, "scratch-files");
  mkdirSync(filesRoot);
  writeFileSync(
    join(workspace, "org.config.json"),
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent" }],
      mcp: { callTimeoutS: 3, startTimeoutS: 30 },
      mcpServers: {
        everything: {
          command: BUN,
          args: [EVERYTHING, "stdio"],
          env: { SERVICE_AUTH: "${ORG_MCP_TEST_VALUE}" },
          tools: {
            "get-env": "allow",
            "get-sum": "allow",
            "toggle-simulated-logging": "allow",
            "trigger-long-running-operation": "allow",
            "get-tiny-image": "deny",
          },
        },
        files: { command: BUN, args: [FILESYSTEM, filesRoot], policy: "allow" },
        boxed: { command: BUN, args: [FILESYSTEM, "/scratch"], sandbox: true, readOnlyPaths: [NODE_MODULES, ...BUN_MOUNT], policy: "allow" },
        later: { command: BUN, args: [EVERYTHING, "stdio"] },
        // The whole workspace, as the user: a model could tell it to rewrite org's own settings.
        wsroot: { command: BUN, args: [FILESYSTEM, workspace], policy: "allow" },
      },
    }),
  );
  process.env.ORG_MCP_TEST_VALUE = TOKEN;
  const env = { ...process.env, OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "scripted" };
  const config = loadConfirmedConfig(join(workspace, "org.config.json"), env, { workspaceDir: workspace, checkoutDir: workspace });
  for (const server of config.mcpServers) {
    // "later" was confirmed with other args: its command changed since, so it must not start.
    recordTrust(server.name === "later" ? { ...server, args: [...(server.args ?? []), "sse"] } : server, workspace);
  }
  const notices: string[] = [];
  const assembly = await assembleRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir: workspace,
    checkoutDir: workspace,
    toolsmith: false,
    notify: (line) => notices.push(line),
    sandboxPolicy: sandboxPolicy({ poolSize: 0 }),
  });
  const events: RoomEvent[] = [];
  const approvals: World["approvals"] = [];
  const answers: boolean[] = [];
  await assembly.mcp?.ready();
  const room = await openRoom(
    assembly.options({
      models: () => persona,
      approve: async (name, call, context) => {
        approvals.push({ persona: name, call, ...(context.why !== undefined ? { why: context.why } : {}) });
        return answers.shift() ?? false;
      },
      onEvent: (event) => events.push(event),
    }),
  );
  at = { workspace, filesRoot, config, assembly, room, events, approvals, answers };
  expect(notices.join("\n")).toContain("mcp: later stays off: its command, args or env are new or changed since you last confirmed it");
}, 60_000);

afterAll(async () => {
  const groups = (at.assembly.mcp?.status() ?? []).flatMap((entry) => (entry.pid === undefined ? [] : [entry.pid]));
  await at.room.close();
  await at.assembly.mcp?.close();
  at.assembly.close();
  delete process.env.ORG_MCP_TEST_VALUE;
  for (const identity of afterAllKill) {
    if (!isSameProcess(identity)) continue;
    try {
      process.kill(identity.pid, "SIGKILL");
    } catch {
      // Gone already, as it should be.
    }
  }
  // No server, and nothing a server started, is left behind.
  await waitUntil("every server's process group to be gone", () => groups.every((group) => !existsSync(`/proc/${group}`)));
  rmSync(at.workspace, { recursive: true, force: true });
}, 30_000);

// A case that waits on servers is given 60 s, above the sum of its own bounds (each wait's, mcp.callTimeoutS for each
// call): on a busy machine one of those fails first, saying what it waited for, never the runner cutting the case short.
describe("the room's MCP client against published servers", () => {
  test("their tools join the room as <server>__<tool> with the server's schemas; denied and task-only tools are not offered", async () => {
    expect(status("everything").state).toBe("up");
    expect(status("files").state).toBe("up");
    expect(status("boxed").state).toBe("up");
    await say("hello");
    const names = offered();
    expect(names).toContain("everything__echo");
    expect(names).toContain("files__read_text_file");
    expect(names).toContain("boxed__write_file");
    expect(names).not.toContain("everything__get-tiny-image");
    expect(names).not.toContain("everything__simulate-research-query");
    expect(names.filter((name) => name.startsWith("later__"))).toEqual([]);
    const echo = persona.requests.at(-1)?.tools?.find((tool) => tool.function.name === "everything__echo");
    expect(echo?.function.parameters).toMatchObject({ type: "object", properties: { message: { type: "string" } }, required: ["message"] });
    expect(status("everything").skipped).toContainEqual({
      name: "simulate-research-query",
      problem: "it runs only as an MCP task, which org does not ask for",
    });
  });

  test("a tool whose policy is ask is asked about: yes runs it, no does not", async () => {
    at.answers.push(true);
    const yes = await say('call everything__echo {"message":"hello mcp"}');
    expect(at.approvals.at(-1)).toMatchObject({ persona: "agent", call: { name: "everything__echo", arguments: { message: "hello mcp" } } });
    expect(yes.results[0]).toMatchObject({ ok: true, output: "Echo: hello mcp" });
    at.answers.push(false);
    const asked = at.approvals.length;
    const no = await say('call everything__echo {"message":"not this"}');
    expect(at.approvals.length).toBe(asked + 1);
    expect(no.results[0]?.ok).toBe(false);
    expect(no.results[0]?.output).toContain("the user denied the everything__echo call");
  });

  test("a server's answer is words from outside: the allowed MCP call after it in the turn is asked, with why", async () => {
    at.answers.push(false);
    const asked = at.approvals.length;
    const turn = await say('call everything__get-sum {"a":1,"b":2} then call files__list_allowed_directories {}');
    expect(turn.results.map((result) => [result.call.name, result.ok])).toEqual([
      ["everything__get-sum", true],
      ["files__list_allowed_directories", false],
    ]);
    expect(at.approvals.slice(asked)).toMatchObject([{ persona: "agent", call: { name: "files__list_allowed_directories" } }]);
    expect(at.approvals.at(-1)?.why).toStartWith("agent read the words of the MCP server everything (everything__get-sum) in this turn");
    // The person spoke again: the allowed call runs unasked.
    const next = await say("call files__list_allowed_directories {}");
    expect(next.results[0]?.ok).toBe(true);
    expect(at.approvals.length).toBe(asked + 1);
  });

  test("a result holding a secret comes back redacted, to the model, the room and the transcript", async () => {
    const asked = at.approvals.length;
    const { results } = await say("call everything__get-env {}");
    expect(at.approvals.length).toBe(asked); // policy allow: nobody is asked
    const output = results[0]?.output ?? "";
    expect(output).toContain("SERVICE_AUTH");
    expect(output).not.toContain(TOKEN);
    expect(output).toContain("[REDACTED]");
    expect(JSON.stringify(persona.requests.at(-1)?.messages)).not.toContain(TOKEN);
    expect(readFileSync(at.room.transcriptPath, "utf8")).not.toContain(TOKEN);
  });

  test("progress and log messages from the server do not break a call; structured content is the result's data", async () => {
    expect((await say("call everything__toggle-simulated-logging {}")).results[0]?.ok).toBe(true);
    const long = await say('call everything__trigger-long-running-operation {"duration":1,"steps":4}');
    expect(long.results[0]).toMatchObject({ ok: true, output: "Long running operation completed. Duration: 1 seconds, Steps: 4." });
    at.answers.push(true);
    const structured = await say('call everything__get-structured-content {"location":"Chicago"}');
    expect(structured.results[0]?.data).toMatchObject({ temperature: expect.any(Number), conditions: expect.any(String) });
    // The server logs every 5 s once asked; calls go on while it does.
    await waitUntil("a log message from the server", () => status("everything").log.count > 0, 15_000);
    expect((await say('call everything__get-sum {"a":2,"b":3}')).results[0]).toMatchObject({ ok: true, output: "The sum of 2 and 3 is 5." });
  }, 60_000);

  test("server-filesystem on a scratch folder, as the user: writes there, refuses outside it", async () => {
    const wrote = await say(`call files__write_file ${JSON.stringify({ path: join(at.filesRoot, "note.txt"), content: "from the room" })}`);
    expect(wrote.results[0]?.ok).toBe(true);
    expect(readFileSync(join(at.filesRoot, "note.txt"), "utf8")).toBe("from the room");
    const outside = await say(`call files__read_text_file ${JSON.stringify({ path: join(at.workspace, "org.config.json") })}`);
    expect(outside.results[0]?.ok).toBe(false);
    expect(outside.results[0]?.output).toContain("Access denied");
  });

  test("a server on the host told to rewrite org.config.json: the call fails, org puts the file back and says so; its other writes stay", async () => {
    const configFile = join(at.workspace, "org.config.json");
    const before = readFileSync(configFile, "utf8");
    const rewrite = await say(
      `call wsroot__write_file ${JSON.stringify({ path: configFile, content: '{"sandbox":{"workspace":"write","workspaceWrite":"allow"}}' })}`,
    );
    expect(rewrite.results[0]?.ok).toBe(false);
    expect(rewrite.results[0]?.output).toContain(
      'this call changed "org.config.json", which org reads its settings or tools from; no tool may change it, so org put it back.',
    );
    expect(readFileSync(configFile, "utf8")).toBe(before);
    expect(rewrite.notices.join("\n")).toContain(
      'mcp: wsroot__write_file changed "org.config.json", which org reads its settings or tools from; org put it back.',
    );
    const plain = await say(`call wsroot__write_file ${JSON.stringify({ path: join(at.workspace, "NOTES.md"), content: "kept" })}`);
    expect(plain.results[0]?.ok).toBe(true);
    expect(readFileSync(join(at.workspace, "NOTES.md"), "utf8")).toBe("kept");
  });

  test("server-filesystem in the sandbox: its /scratch is the server's own folder under .org/, nothing of the host beyond what it may read", async () => {
    const wrote = await say('call boxed__write_file {"path":"/scratch/boxed.txt","content":"sandboxed"}');
    expect(wrote.results[0]?.ok).toBe(true);
    expect(readFileSync(join(at.workspace, ".org", "scratch", "mcp-boxed", "boxed.txt"), "utf8")).toBe("sandboxed");
    const listed = await say("call boxed__list_allowed_directories {}");
    expect(listed.results[0]?.output).toContain("/scratch");
    // Inside, the scratch root of the host is not there at all: the server's own allowed folder is all it has.
    const host = await say(`call boxed__list_directory ${JSON.stringify({ path: at.filesRoot })}`);
    expect(host.results[0]?.ok).toBe(false);
  });

  test("a workflow step may call an MCP tool set to allow; one that asks is refused", async () => {
    mkdirSync(join(at.workspace, "workflows"), { recursive: true });
    const step = (tool: string) => ({
      name: "sum",
      inputs: { type: "object", properties: { a: { type: "number" } }, required: ["a"] },
      steps: [{ id: "sum", tool, inputs: { a: "$inputs.a", b: 40 } }],
      output: { said: "$steps.sum.output" },
    });
    writeFileSync(join(at.workspace, "workflows", "sum.json"), JSON.stringify(step("everything__get-sum")));
    writeFileSync(join(at.workspace, "workflows", "echo.json"), JSON.stringify(step("everything__echo")));
    at.answers.push(true, false);
    const sum = await say('call workflow_run {"file":"workflows/sum.json","inputs":{"a":2}} then call files__list_allowed_directories {}');
    expect(sum.results[0]).toMatchObject({ ok: true, data: { said: "The sum of 2 and 40 is 42." } });
    // The server's answer came through the workflow: the allowed call after it is asked all the same.
    expect(at.approvals.at(-1)?.call.name).toBe("files__list_allowed_directories");
    expect(at.approvals.at(-1)?.why).toStartWith("agent read the words of the MCP tool everything__get-sum (workflow_run) in this turn");
    at.answers.push(true);
    const echo = await say('call workflow_run {"file":"workflows/echo.json","inputs":{"a":2}}');
    expect(echo.results[0]?.ok).toBe(false);
    expect(echo.results[0]?.output).toContain('a workflow runs its steps without asking, so it may call only MCP tools set to "allow"');
  });

  test("a server killed mid-call: the call fails as a result, the server is restarted, a later call works", async () => {
    const before = status("everything").pid;
    // Stopped before the call, it cannot answer before the kill, however late a busy machine lets the kill come (a
    // running one answered once its 2 s had passed, and the call was no longer mid-call).
    const server = serverProcess("everything");
    process.kill(server, "SIGSTOP");
    afterAllKill.push({ pid: server, start: startTime(server) ?? "" });
    const killed = (async () => {
      await waitUntil("the call to go out", () =>
        at.events.some(
          (event) =>
            event.type === "tool-call" && event.call.name === "everything__trigger-long-running-operation" && event.call.arguments.steps === 5,
        ),
      );
      await Bun.sleep(300);
      process.kill(server, "SIGKILL");
    })();
    const during = await say('call everything__trigger-long-running-operation {"duration":2,"steps":5}');
    await killed;
    expect(during.results[0]?.ok).toBe(false);
    expect(during.results[0]?.output).toContain("the MCP server everything stopped during the call");
    await waitUntil("everything to be up again", () => status("everything").state === "up" && status("everything").pid !== before, 20_000);
    const noticed = at.events.flatMap((event) => (event.type === "notice" && event.reason === "mcp" ? [event.message] : []));
    expect(noticed).toContainEqual(
      expect.stringMatching(/^mcp: everything is down \(it stopped: its process was killed by SIGKILL.*\); starting it again in 1 s$/),
    );
    expect((await say('call everything__get-sum {"a":1,"b":1}')).results[0]).toMatchObject({ ok: true, output: "The sum of 1 and 1 is 2." });
  }, 60_000);

  test("a server that never answers: the call ends at mcp.callTimeoutS, the room goes on, the hung server is restarted", async () => {
    const before = status("everything").pid;
    const stopped = serverProcess("everything");
    process.kill(stopped, "SIGSTOP");
    // Should the test stop early, the stopped process is not left behind (a stopped process ignores SIGTERM).
    const identity = { pid: stopped, start: startTime(stopped) ?? "" };
    afterAllKill.push(identity);
    const hung = await say('call everything__get-sum {"a":1,"b":2}');
    expect(hung.results[0]?.ok).toBe(false);
    expect(hung.results[0]?.output).toContain("did not answer within 3 s (mcp.callTimeoutS)");
    // The room answers the next message at once, whatever the server does.
    expect((await say("hello again")).results).toEqual([]);
    await waitUntil("the hung server to be replaced", () => status("everything").state === "up" && status("everything").pid !== before, 20_000);
    // Killed: gone, or a zombie its new parent has not reaped yet (some inits reap a second or more late).
    expect(isSameProcess(identity)).toBe(false);
    expect((await say('call everything__get-sum {"a":20,"b":22}')).results[0]).toMatchObject({ ok: true, output: "The sum of 20 and 22 is 42." });
  }, 60_000);

  test("a server whose command changed since it was confirmed does not start until it is confirmed again", async () => {
    expect(status("later")).toMatchObject({ state: "untrusted", tools: [] });
    expect(at.assembly.mcp?.awaitingTrust().map((server) => server.name)).toEqual(["later"]);
    at.assembly.mcp?.trust("later");
    await waitUntil("later to start once confirmed", () => status("later").state === "up", 20_000);
    await say("hello");
    expect(offered()).toContain("later__echo");
    at.answers.push(true);
    expect((await say('call later__echo {"message":"now"}')).results[0]).toMatchObject({ ok: true, output: "Echo: now" });
  }, 60_000);
});
