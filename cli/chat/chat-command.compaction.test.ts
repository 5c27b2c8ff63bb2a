// The one walk through real processes: `org chat --once --resume` against the scripted server at a 2 048-token window
// (it refuses a prompt over it, as vLLM does). A long session's first message falls out and is summarised; the process
// is killed with -9 while the summary is being written; resumed, nothing is lost, the summary is written again, and the
// next prompt holds the fact from the first message; `org memory search` finds the summary. The rest of the proof is in
// process (room/compaction.test.ts; serve's API in web/web-routes.test.ts).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";
import { runOrgProcess } from "../../testing/org-process.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-compaction-once-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
// org's code alone: a checkout's promoted tools would be offered to the agent too, and this window is not sized for them.
const code = orgCodeCopy("org-compaction-once-code-");
afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

const filler = (turn: number) =>
  `Note ${turn} follows. ${"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ".repeat(16)}`;
const bodyText = (body: unknown) => (body === undefined ? "" : JSON.stringify(body));

test("chat --once --resume: kill -9 while a summary is written, then resume: nothing lost, the summary redone, it reaches the prompt", async () => {
  await using server = await startScriptedServer({
    script: {
      models: ["scripted"],
      rules: [
        // The first summary takes long enough to be killed in; the scripted summariser writes the next ones.
        { when: { tool: "write_summary", times: 1 }, reply: { text: "thinking…", firstByteDelayMs: 60_000 } },
        { reply: { text: "Noted." } },
      ],
    },
    contextTokens: 2048,
  });
  writeFileSync(
    join(workspace, "org.config.json"),
    // The browser's schema is left out: this 2 048-token window is sized for the compaction, not for every default tool.
    JSON.stringify({
      personas: [{ name: "agent", kind: "agent", tools: { browser: "deny" } }],
      mode: "direct:agent",
      compaction: { reserveTokens: 256 },
    }),
  );
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" };
  const chat = (args: string[]) =>
    runOrgProcess(["chat", "--workspace", workspace, ...args], { cwd: workspace, env, timeoutMs: 60_000, checkoutDir: code.dir });
  const first = await chat(["--once", `The staging database listens on port 6543. ${filler(1)}`]);
  expect(first.exitCode).toBe(0);
  // Turn after turn until a prompt leaves the first message out: its summary is asked for, and the process killed meanwhile.
  const summaries = () => server.requests.filter((request) => bodyText(request.body).includes('"write_summary"')).length;
  let turns = 1;
  while (summaries() === 0 && turns < 6) {
    turns += 1;
    const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace, "--resume", "--once", filler(turns)], { checkoutDir: code.dir }), {
      cwd: workspace,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdout: "ignore",
      stderr: "ignore",
      stdin: "ignore",
    });
    const until = Date.now() + 30_000;
    let exited = false;
    void child.exited.then(() => (exited = true));
    while (summaries() === 0 && !exited && Date.now() < until) await Bun.sleep(50);
    if (!exited) child.kill("SIGKILL");
    await child.exited;
  }
  expect(summaries()).toBe(1);

  const resumed = await chat(["--resume", "--json", "--once", "What port does the staging database listen on?"]);
  expect(resumed.stderr).toBe("");
  expect(resumed.exitCode).toBe(0);
  const [sessionFile] = new Bun.Glob(".org/sessions/*.jsonl").scanSync({ cwd: workspace, dot: true });
  const lines = readFileSync(join(workspace, sessionFile ?? ""), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  // Nothing lost: every message of the turns, user's and agent's (the killed one's reply came before its summary was asked).
  expect(lines.filter((line) => line.type === "message")).toHaveLength(2 * (turns + 1));
  const compactions = lines.filter((line) => line.type === "compaction");
  expect(compactions.length).toBeGreaterThanOrEqual(1);
  expect(resumed.stdout).not.toContain("could not be summarised");
  // chat --json says it as every event: the summary written after the reply, before the process ends.
  const printed = resumed.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  const printedCompactions = printed.filter((event) => event.type === "compaction");
  expect(printedCompactions).toEqual([expect.objectContaining({ persona: "agent", summary: compactions[0].summary })]);
  expect(compactions[0].summary).toContain("port 6543");
  // No prompt org sent was over the window, and every chat prompt kept the system prompt and the tools.
  const chats = server.requests.filter((request) => request.path.endsWith("/chat/completions") || request.path === "/api/chat");
  expect(chats.filter((request) => request.outcome === "over the window")).toEqual([]);
  for (const request of chats) expect(request.window?.promptTokens ?? 0).toBeLessThanOrEqual(2048);
  for (const request of chats.filter((entry) => !bodyText(entry.body).includes('"write_summary"'))) {
    expect(bodyText(request.body)).toContain("You are agent, ");
    expect(bodyText(request.body)).toContain('"name":"sh"');
  }
  // The summary written on resume reaches the next prompt: one more turn asks with it.
  const again = await chat(["--resume", "--once", "And which port was that again?"]);
  expect(again.exitCode).toBe(0);
  const last = chats.length;
  const latest = server.requests
    .filter((request) => request.path.endsWith("/chat/completions") || request.path === "/api/chat")
    .slice(last)
    .find((request) => bodyText(request.body).includes("And which port was that again?"));
  expect(bodyText(latest?.body)).toContain("org's summary of earlier messages");
  expect(bodyText(latest?.body)).toContain("port 6543");
  // The summary is in the workspace's memory: org memory search finds it, tagged as org's summary, for the agent.
  const found = await runOrgProcess(["memory", "search", "staging database port", "--json", "--workspace", workspace], {
    cwd: workspace,
    env: { ORG_EMBED_MODEL: "off" },
    timeoutMs: 30_000,
    checkoutDir: code.dir,
  });
  expect(found.exitCode).toBe(0);
  const results = (JSON.parse(found.stdout) as { results: { persona: string; tags: string[]; snippet: string }[] }).results;
  const summaryHit = results.find((hit) => hit.tags.includes("summary"));
  expect(summaryHit?.persona).toBe("agent");
  expect(summaryHit?.snippet).toContain("summary of earlier messages");
}, 120_000);
