import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runOrgProcess } from "../../testing/org-process.ts";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../../room/room-event.ts";
import { parseScript } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { orgInvocation } from "../command/org-invocation.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-once-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

/** Runs `org chat …` as a real child process, in the temp workspace unless args name another. */
async function chat(args: string[], env: Record<string, string>) {
  const where = args.includes("--workspace") ? [] : ["--workspace", workspace];
  return runOrgProcess(["chat", ...where, ...args], { cwd: workspace, env });
}

/** A loopback port nothing listens on: bind one, then let it go. */
function deadPort(): number {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
}

test("--once against a dead server exits 1 and says which URL, OLLAMA_BASE, and the scripted server", async () => {
  const base = `http://127.0.0.1:${deadPort()}`;
  const result = await chat(["--once", "hello", "--json"], { OLLAMA_BASE: base });
  expect(result.exitCode).toBe(1);
  const lines = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ type: "error", kind: "unreachable" });
  expect(lines[0].message).toContain(`no model server answers at ${base}`);
  expect(result.stderr).toContain("OLLAMA_BASE");
  // A bundled script by name, so the hint works from the user's workspace too; the port is the one OLLAMA_BASE names.
  const port = new URL(base).port;
  const serverCommand = new RegExp(`^ +(.+ scripted-server --port ${port} --script playground)$`, "m").exec(result.stderr)?.[1];
  expect(serverCommand).toBe(`${orgInvocation()} scripted-server --port ${port} --script playground`);
  const chatCommand = /^ +(OLLAMA_BASE=\S+ OLLAMA_MODEL=scripted .+ chat)$/m.exec(result.stderr)?.[1];
  expect(chatCommand).toBe(`OLLAMA_BASE=${base} OLLAMA_MODEL=scripted ${orgInvocation()} chat`);

  // Both work as printed, from another directory, with no OLLAMA_* of the user's.
  const { OLLAMA_BASE: _base, OLLAMA_MODEL: _model, ...env } = process.env;
  const elsewhere = mkdtempSync(join(tmpdir(), "org-hint-"));
  chmodSync(elsewhere, 0o755);
  const server = Bun.spawn(["/bin/sh", "-c", serverCommand as string], {
    cwd: elsewhere,
    env,
    stdout: "pipe",
    stderr: "ignore",
    stdin: "ignore",
    detached: true,
  });
  try {
    const reader = server.stdout.getReader();
    const listening = await Promise.race([
      reader.read().then(({ value }) => new TextDecoder().decode(value)),
      Bun.sleep(30_000).then(() => "no answer in 30 s"),
    ]);
    expect(listening).toContain(`listening on ${base}`);
    const room = Bun.spawn(
      ["/bin/sh", "-c", `${chatCommand} --workspace ${join(elsewhere, "ws")} --once 'Have a look around the sandbox.' --mode direct:agent --json`],
      {
        cwd: elsewhere,
        env: { ...env, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
        stdin: "ignore",
      },
    );
    const [stdout, stderr, code] = await Promise.all([new Response(room.stdout).text(), new Response(room.stderr).text(), room.exited]);
    expect({ code, stderr: stderr.includes("no model server") ? stderr : "" }).toEqual({ code: 0, stderr: "" });
    const events = stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as RoomEvent);
    const said = events.flatMap((event) => (event.type === "message" ? [event.message.text] : [])).join("\n");
    // The playground's agent looks at the workspace it is given (a new one: nothing in it).
    expect(said).toContain("Entries at the top of /workspace: 0, and no README.");
    // The same words run tool new against it: docs/tour-walk.e2e.test.ts (the README's tour, on the playground) and
    // docs/gate-walk.e2e.test.ts; its Try it line runs as printed in cli/tool/tool-command.test.ts.
  } finally {
    process.kill(-server.pid, "SIGTERM");
    await server.exited;
    rmSync(elsewhere, { recursive: true, force: true });
  }
  // A chat and a scripted server, each a process of its own: 60 s may run out at a load of 35.
}, 120_000);

test("OLLAMA_BASE given as host:port, the way Ollama's OLLAMA_HOST takes it, gets http://", async () => {
  const port = deadPort();
  const result = await chat(["--once", "hello", "--json"], { OLLAMA_BASE: `127.0.0.1:${port}` });
  expect(result.exitCode).toBe(1);
  expect(JSON.parse(result.stdout.trim()).message).toContain(`no model server answers at http://127.0.0.1:${port} (`);
});

test("a file as workspace is refused in one line, a missing one is made and said", async () => {
  const file = join(workspace, "not-a-dir.txt");
  writeFileSync(file, "x");
  const refused = await chat(["--once", "hi", "--workspace", file], { OLLAMA_BASE: "http://127.0.0.1:9" });
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toBe(`org: --workspace ${file} is a file, not a directory. Give a directory (a missing one is made).\n`);
  const fresh = join(workspace, "fresh", "ws");
  const made = await chat(["--once", "hi", "--workspace", fresh], { OLLAMA_BASE: "http://127.0.0.1:9" });
  expect(made.stderr).toContain(`org: made the workspace directory ${fresh}\n`);
  expect(existsSync(fresh)).toBe(true);
});

test("wrong flags exit 2 with the reason", async () => {
  const bad = await chat(["--once", "hi", "--mode", "sideways"], { OLLAMA_BASE: "http://127.0.0.1:9" });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toContain("--mode:");
  const json = await chat(["--json"], {});
  expect(json.exitCode).toBe(2);
  expect(json.stderr).toContain("--json goes with --once");
});

describe("--once against the scripted server", () => {
  const script = parseScript(
    JSON.stringify({
      models: ["scripted"],
      rules: [
        {
          when: { persona: "agent", lastRole: "tool", lastMessage: "looping" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo looping" } }] },
        },
        { when: { persona: "agent", lastRole: "tool", lastMessage: "exit code: 3" }, reply: { text: "the command failed with exit code 3." } },
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "I ran it; it printed the greeting." } },
        { when: { persona: "agent", lastMessage: "^please loop" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo looping" } }] } },
        {
          when: { persona: "agent", lastMessage: "^please fail" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo broken >&2; exit 3" } }] },
        },
        { when: { persona: "agent", lastMessage: "greet" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo sandboxed-hello" } }] } },
        {
          when: { persona: "agent", lastMessage: "break" },
          reply: { text: "half a reply that never ends", chunkSize: 4, fault: { cutAfterChunks: 2 } },
        },
        {
          when: { persona: "agent", lastMessage: "crash" },
          reply: { text: "Partial answer before the crash", chunkSize: 7, fault: { cutAfterChunks: 3, reset: true } },
        },
        { when: {}, reply: { text: "nothing to add." } },
      ],
    }),
    "chat-command.once.test.ts",
  );
  let server: Awaited<ReturnType<typeof startScriptedServer>>;
  beforeAll(async () => {
    server = await startScriptedServer({ script, port: 0 });
  });
  afterAll(async () => server?.stop());

  const events = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as RoomEvent);

  test("--json prints every room event as one JSON line, the tool's sandboxed output included; exit 0", async () => {
    const result = await chat(["--once", "please greet me", "--mode", "direct:agent", "--json"], {
      OLLAMA_BASE: server.url,
      OLLAMA_MODEL: "scripted",
    });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const lines = events(result.stdout);
    const types = lines.map((event) => event.type);
    const expected: RoomEvent["type"][] = ["mode", "turn-start", "tool-call", "tool-result", "text-delta", "message", "turn-end"];
    for (const type of expected) expect(types).toContain(type);
    expect(types.at(-1)).toBe("turn-end");
    const toolResult = lines.find((event) => event.type === "tool-result");
    expect(toolResult).toMatchObject({ type: "tool-result", persona: "agent", ok: true, call: { name: "sh" } });
    expect((toolResult as { output: string }).output).toContain("sandboxed-hello");
    const reply = lines.filter((event) => event.type === "message").at(-1) as { message: { from: string; text: string } };
    expect(reply.message).toMatchObject({ from: "agent", text: "I ran it; it printed the greeting." });
    expect(lines.at(-1)).toMatchObject({ type: "turn-end", ok: true });
  });

  test("a reply that breaks mid-stream gives an error event and exit 1", async () => {
    const result = await chat(["--once", "break please", "--mode", "direct:agent", "--json"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
    expect(result.exitCode).toBe(1);
    const lines = events(result.stdout);
    expect(lines.some((event) => event.type === "error" && event.persona === "agent")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "turn-end", ok: false });
  });

  test("invariant 9: a reply whose connection drops mid-stream keeps its partial text in --json, marked failed; exit 1", async () => {
    const result = await chat(["--once", "crash now", "--mode", "direct:agent", "--json"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
    expect(result.exitCode).toBe(1);
    const reply = events(result.stdout).find((event) => event.type === "message" && event.message.from === "agent");
    expect(reply).toMatchObject({
      type: "message",
      message: { from: "agent", text: "Partial answer before", failed: expect.stringContaining("broke mid-stream") },
    });
  });

  test("a reply whose last sandboxed command failed exits 1, though the model explained it; stderr says why", async () => {
    const result = await chat(["--once", "please fail", "--mode", "direct:agent"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
    expect(result.stdout).toContain("agent │ the command failed with exit code 3.");
    expect(result.stderr).toContain("org: agent's reply is incomplete: the last command it ran in the sandbox failed (exit 1).");
    expect(result.exitCode).toBe(1);
  });

  test("a reply whose tool loop was stopped exits 1; turn-end lists it as incomplete", async () => {
    const result = await chat(["--once", "please loop", "--mode", "direct:agent", "--json"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
    expect(result.exitCode).toBe(1);
    const lines = events(result.stdout);
    expect(lines.some((event) => event.type === "notice" && event.reason === "repeated-call")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "turn-end", ok: true, incomplete: [{ persona: "agent", reason: "repeated-call" }] });
    expect(result.stderr).toContain("its tool loop was stopped for repeating the same call");
  });

  test("a tool the config marks ask is denied without --yes (and the notice says so), allowed with it", async () => {
    const configFile = join(workspace, "ask.config.json");
    await Bun.write(configFile, JSON.stringify({ personas: [{ name: "agent", kind: "agent", tools: { sh: "ask" } }] }));
    const denied = await chat(["--config", configFile, "--once", "please greet me", "--json"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
    expect(denied.exitCode).toBe(0);
    expect(denied.stderr).toContain("Pass --yes to allow such calls");
    const deniedResult = events(denied.stdout).find((event) => event.type === "tool-result") as { ok: boolean; output: string };
    expect(deniedResult.ok).toBe(false);
    expect(deniedResult.output).toContain("denied");

    const allowed = await chat(["--config", configFile, "--once", "please greet me", "--json", "--yes"], {
      OLLAMA_BASE: server.url,
      OLLAMA_MODEL: "scripted",
    });
    expect(allowed.exitCode).toBe(0);
    expect(allowed.stderr).toContain("approved by --yes: agent runs sh");
    const allowedResult = events(allowed.stdout).find((event) => event.type === "tool-result") as { ok: boolean; output: string };
    expect(allowedResult.output).toContain("sandboxed-hello");
  });

  // One session for both: the first run is the console renderer's, and --resume goes on in the session it made.
  test("without --json the console prints the reply, the transcript path to stderr; --resume goes on in that session, its file grows", async () => {
    const resumeWorkspace = join(workspace, "resume");
    const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" };
    const first = await chat(["--workspace", resumeWorkspace, "--once", "please greet me", "--mode", "direct:agent"], env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("agent │ I ran it; it printed the greeting.");
    expect(first.stdout).toContain("⚙ sh");
    const sessions = () => readdirSync(join(resumeWorkspace, ".org", "sessions"));
    expect(sessions()).toHaveLength(1);
    expect(first.stderr).toMatch(/^transcript: .*\.org\/sessions\/.*\.jsonl$/m);
    // Said relative to where org started (the temp workspace), and the file it names is the one --resume grows.
    expect(first.stderr).toContain(`transcript: ${join("resume", ".org", "sessions", sessions()[0] as string)}\n`);
    const again = await chat(["--workspace", resumeWorkspace, "--resume", "--once", "and again", "--mode", "direct:agent", "--json"], env);
    expect(again.exitCode).toBe(0);
    expect(sessions()).toHaveLength(1);
    const transcript = readFileSync(join(resumeWorkspace, ".org", "sessions", sessions()[0] as string), "utf8");
    expect(transcript).toContain('"text":"please greet me"');
    expect(transcript).toContain('"text":"and again"');
  });
});

describe("the command-line habits: --model, a missing model named at start, a misspelt @name", () => {
  test("--model (and -m) sets every persona's model; a model the server lacks is named before the first message", async () => {
    await using server = await startScriptedServer({
      script: { models: ["qwen3:8b", "llama3.1:8b"], rules: [{ reply: { text: "fine" } }] },
      port: 0,
    });
    const ok = await chat(["-m", "llama3.1:8b", "--once", "hello", "--mode", "direct:agent"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
    expect(ok.exitCode).toBe(0);
    expect((server.requests.at(-1)?.body as { model: string }).model).toBe("llama3.1:8b");
    const missing = await chat(["--model", "nope:1b", "--once", "hello", "--mode", "direct:agent", "--json"], { OLLAMA_BASE: server.url });
    expect(missing.stderr).toContain(`agent's model "nope:1b" (from --model) is not on ${server.url}; it has: qwen3:8b, llama3.1:8b.`);
    // Said at start, by the probe, not by a failed reply: every persona is named, though only agent was asked.
    expect(missing.stderr).toContain(`python's model "nope:1b" (from --model) is not on`);
  });

  test("--once in group mode refuses a misspelt @name with the likely persona, exit 2, nothing sent", async () => {
    await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "fine" } }] }, port: 0 });
    const result = await chat(["--once", "@pyhton what is 6*7?"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'there is no persona "@pyhton" (did you mean @python?); the message was not sent. Send it again as: @python what is 6*7?',
    );
    expect(server.requests.map((request) => request.path)).not.toContain("/v1/chat/completions");
    // Refused before anything is made: no workspace, no .org/, no session file, no scratch folder.
    const untouched = join(workspace, "never-made");
    const json = await chat(["--workspace", untouched, "--once", "@pyhton hi", "--json"], { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: "error", kind: "unknown-persona" });
    expect(existsSync(untouched)).toBe(false);
    const typesOk = await chat(["--once", "what does @types/node hold?", "--mode", "direct:agent"], {
      OLLAMA_BASE: server.url,
      OLLAMA_MODEL: "qwen3:8b",
    });
    expect(typesOk.exitCode).toBe(0);
  });
});
