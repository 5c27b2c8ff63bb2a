import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScript } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { runOpsScript } from "../../testing/run-ops-script.ts";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";

const repoRoot = join(import.meta.dir, "..", "..");
const workspace = mkdtempSync(join(tmpdir(), "org-tmux-chat-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
const script = parseScript(
  JSON.stringify({
    models: ["scripted"],
    rules: [
      { when: { persona: "agent", lastRole: "tool" }, reply: { text: "the check is done." } },
      { when: { persona: "agent", lastMessage: "run the check" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo check-ok" } }] } },
      {
        when: { persona: "agent", lastMessage: "weather" },
        reply: { text: "agent says: sunny in the sandbox, no clouds at all.", chunkSize: 4, delayMs: 15 },
      },
      { when: { persona: "python", lastMessage: "weather" }, reply: { text: "python says: 21 degrees, computed.", chunkSize: 4, delayMs: 15 } },
      {
        when: { persona: "agent", lastMessage: "long story" },
        reply: { text: "Once upon a time, there was a very long story that went on and on and on.", chunkSize: 2, delayMs: 150 },
      },
      { when: { persona: "toolsmith" }, reply: { text: "toolsmith has nothing to add." } },
      { when: {}, reply: { text: "fallback reply" } },
    ],
  }),
  "chat-command.tmux.test.ts",
);

let server: Awaited<ReturnType<typeof startScriptedServer>>;
let tmux: TmuxServer;
beforeAll(async () => {
  // Fails (never skips) with "install tmux" when tmux is missing.
  tmux = await TmuxServer.start();
  server = await startScriptedServer({ script, port: 0 });
});
afterAll(async () => {
  await tmux?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

async function runScript(name: string, session: string, args: string[] = []) {
  const env = { ...tmux.env, ORG_TMUX_SESSION: session, OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", NO_COLOR: "1" };
  return await runOpsScript(repoRoot, name, args, { cwd: workspace, env });
}

test("ops/run.sh starts the room in tmux; typed text streams replies into the pane; ops/stop.sh ends it", async () => {
  const session = uniqueSessionName("org-chat");
  const started = await runScript("run.sh", session);
  expect(started.code).toBe(0);
  expect(started.stdout).toContain(`started org in tmux session '${session}'`);
  expect(started.stdout).toContain(`tmux attach -t ${session}`);

  const again = await runScript("run.sh", session);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`org is already running in tmux session '${session}'`);

  await tmux.waitFor(session, "group ›");
  await tmux.type(session, "how is the weather?");
  await tmux.keys(session, "Enter");
  const pane = await tmux.waitFor(session, /python\s+│ python says: 21 degrees, computed\./);
  expect(pane).toMatch(/agent\s+│ agent says: sunny in the sandbox, no clouds at all\./);
  expect(pane).toContain("group › how is the weather?");

  // A misspelt @name is held and asked about, not sent to everyone: y sends it to the persona it meant.
  await tmux.waitFor(session, /group ›[\s\S]*group ›/);
  await tmux.type(session, "@pyhton how is the weather?");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /there is no persona "@pyhton" \(did you mean @python\?\); the message is held\.[\s\S]*\[y\]es/);
  // One key answers: no Enter after it.
  await tmux.type(session, "y");
  const held = await tmux.waitFor(session, /Enter: not sent › y\s+python\s+│ python says: 21 degrees, computed\.[\s\S]*group › \s*$/);
  expect(held.split("agent says: sunny").length).toBe(2);

  // Slash commands work in the same pane; history survives in the workspace.
  await tmux.waitFor(session, /group ›[\s\S]*group ›/);
  await tmux.type(session, "/mode direct:agent");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "direct:agent ›");
  expect(readFileSync(join(workspace, ".org", "history"), "utf8")).toContain('"how is the weather?"');

  // Ctrl-C stops a streaming reply and the room stays; Ctrl-C twice leaves.
  await tmux.type(session, "tell me a long story");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /agent\s+│ Once/);
  await tmux.keys(session, "C-c");
  await tmux.waitFor(session, /stopped with Ctrl-C[\s\S]*direct:agent ›[\s\S]*$/);
  const afterStop = await tmux.waitFor(session, /agent\s+╰[^\n]*\n[\s\S]*direct:agent › \s*$/);
  expect(afterStop).not.toContain("went on and on and on.");
  // The word still held when the reply stopped ends its own line, under the prefix; nothing of the reply is left
  // on a line of its own (it was "sa" or "e" before the closing ╰).
  const stopLines = afterStop.slice(afterStop.lastIndexOf("tell me a long story")).split("\n").slice(1);
  const closing = stopLines.findIndex((line) => /^agent\s+╰/.test(line));
  expect(stopLines.slice(0, closing).filter((line) => !/^agent\s+│ /.test(line) && !line.startsWith("(stopped with Ctrl-C)"))).toEqual([]);
  // One Ctrl-C is reported once, in one wording: no error line per stopped reply.
  expect(afterStop.split("stopped with Ctrl-C")).toHaveLength(2);
  expect(afterStop).not.toContain("the completion was stopped");
  await tmux.keys(session, "C-c");
  await tmux.waitFor(session, "org exited with code 0");

  const stopped = await runScript("stop.sh", session);
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toContain(`stopped org: killed tmux session '${session}'`);
  expect(await tmux.hasSession(session)).toBe(false);
  const stoppedAgain = await runScript("stop.sh", session);
  expect(stoppedAgain.stdout).toContain(`no tmux session '${session}' is running; nothing to stop.`);
}, 60_000);

test("the stop command ops/run.sh prints, run as printed, ends the room and leaves the instances' windows running", async () => {
  const session = uniqueSessionName("org-named");
  // A served instance already runs in the session, as ops/start-current.sh leaves it: its window is "current".
  await tmux.newSession(session, "tail -f /dev/null");
  await tmux.tmux("rename-window", "-t", `=${session}:`, "current");
  const started = await runScript("run.sh", session);
  expect(started.code).toBe(0);
  const stop = /^  stop: +(.+)$/m.exec(started.stdout)?.[1];
  expect(stop).toBe(`ORG_TMUX_SESSION=${session} ${join(repoRoot, "ops", "stop.sh")} chat`);
  await tmux.waitFor(`${session}:chat`, "group ›");
  // Run in a shell without ORG_TMUX_SESSION, as a user pastes it into a fresh terminal.
  const { ORG_TMUX_SESSION: _, ...env } = tmux.env;
  const child = Bun.spawn(["bash", "-c", stop as string], { cwd: workspace, env, stdout: "pipe", stderr: "pipe" });
  const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  expect(code).toBe(0);
  expect(stdout).toContain(`stopped the room: closed window 'chat' of tmux session '${session}'`);
  expect((await tmux.tmux("list-windows", "-t", `=${session}`, "-F", "#{window_name}")).trim()).toBe("current");
  const again = Bun.spawn(["bash", "-c", stop as string], { cwd: workspace, env, stdout: "pipe", stderr: "pipe" });
  expect(await new Response(again.stdout).text()).toContain(`no room is running in tmux session '${session}'; nothing to stop.`);
  expect(await again.exited).toBe(0);
  expect(await tmux.hasSession(session)).toBe(true);
  await tmux.tmux("kill-session", "-t", `=${session}`);
}, 60_000);

test("a tool the config marks ask prompts y/n in the pane: y runs it, n denies it", async () => {
  const session = uniqueSessionName("org-approve");
  const configFile = join(workspace, "ask.config.json");
  writeFileSync(configFile, JSON.stringify({ personas: [{ name: "agent", kind: "agent", tools: { sh: "ask" } }] }));
  expect((await runScript("run.sh", session, ["--config", configFile])).code).toBe(0);
  await tmux.waitFor(session, "group ›");

  await tmux.type(session, "please run the check");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "allow? [y]es / [n]o / [a]lways for sh:");
  // One key answers: no Enter after it.
  await tmux.type(session, "y");
  const allowed = await tmux.waitFor(session, /agent │ the check is done\./);
  expect(allowed).toContain('agent wants to run sh {"cmd":"echo check-ok"}');
  expect(allowed).toContain("· allowed: agent runs sh");
  expect(allowed).toMatch(/agent │ ✓ sh/);

  await tmux.type(session, "please run the check");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /allow\?[\s\S]*allow\? \[y\]es \/ \[n\]o \/ \[a\]lways for sh:/);
  await tmux.type(session, "n");
  const denied = await tmux.waitFor(session, /agent │ ✗ sh: the user denied the sh call/);
  expect(denied).toContain("· denied: agent may not run sh this time");

  // Ctrl-C at the question stops the turn, as it does while a reply streams: the model is not asked again.
  await tmux.waitFor(session, /denied[\s\S]*group › \s*$/);
  const done = (text: string) => text.split("the check is done.").length - 1;
  const before = done(await tmux.capture(session));
  await tmux.type(session, "please run the check");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /(allow\?[\s\S]*){3}\[a\]lways for sh:/);
  await tmux.keys(session, "C-c");
  const stopped = await tmux.waitFor(session, /\(stopped with Ctrl-C\) Press Ctrl-C again[\s\S]*group › \s*$/);
  expect(stopped).toContain("· not run: agent's sh call (interrupted)");
  await Bun.sleep(500);
  expect(done(await tmux.capture(session))).toBe(before);

  expect((await runScript("stop.sh", session)).code).toBe(0);
}, 60_000);
