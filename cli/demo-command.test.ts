import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScript } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";

const repoRoot = join(import.meta.dir, "..");
const workspace = mkdtempSync(join(tmpdir(), "org-demo-test-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function demo(args: string[]) {
  const child = Bun.spawn([process.execPath, join(repoRoot, "main.ts"), "demo", ...args], {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

test("org demo plays the scripted session: two personas at once, sh in the sandbox, then direct:python", async () => {
  const { stdout, stderr, exitCode } = await demo(["--fast", "--workspace", workspace]);
  expect(stderr).toBe("");
  expect(exitCode).toBe(0);

  // The user's first line goes to the group; both personas answer.
  expect(stdout).toContain("group › Hi both! What can you do in here? Have a look around the sandbox.");
  expect(stdout).toMatch(/agent\s+│ ⚙ sh /);
  expect(stdout).toMatch(/agent\s+│ .*Linux/);
  expect(stdout).toMatch(/python\s+│ I run Python/);
  // What sh really printed in the sandbox.
  expect(stdout).toContain("what sh printed in the sandbox for agent:");
  expect(stdout).toContain("│ Linux");
  expect(stdout).toContain("│ 3 notes.txt");

  // The mode switch, then python alone.
  expect(stdout).toContain("group › /mode direct:python");
  expect(stdout).toContain("· mode is now direct:python");
  expect(stdout).toContain("direct:python › What are the first ten square numbers");
  expect(stdout).toMatch(/python\s+│ ⚙ python_run /);
  expect(stdout).toContain("│ [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]");
  expect(stdout).toContain("│ 385");
  expect(stdout).toMatch(/python\s+│ .*add up to 385/);

  // It ends by saying where the transcript is, and the transcript is there.
  const transcript = /^transcript: (.+\.jsonl)$/m.exec(stdout)?.[1];
  expect(transcript).toBeDefined();
  expect(existsSync(transcript as string)).toBe(true);
  const events = readFileSync(transcript as string, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  // The two first replies overlapped: each started before the other ended.
  const firstTurn = events.find((event) => event.type === "turn-start")?.turnId;
  const index = (type: string, persona: string) =>
    events.findIndex((event) => event.type === type && event.persona === persona && String(event.replyId).startsWith(firstTurn));
  expect(index("reply-start", "python")).toBeLessThan(index("reply-end", "agent"));
  expect(index("reply-start", "agent")).toBeLessThan(index("reply-end", "python"));
});

test("the command the demo ends with goes on in the demo's session, run from another directory", async () => {
  const demoWorkspace = join(workspace, "go-on");
  mkdirSync(demoWorkspace, { mode: 0o755 });
  const played = await demo(["--fast", "--workspace", demoWorkspace]);
  expect(played.exitCode).toBe(0);
  const command = /^go on from there with a real model: (.+)$/m.exec(played.stdout)?.[1];
  expect(command).toContain(`--workspace ${demoWorkspace} --resume `);
  const transcript = /^transcript: (.+\.jsonl)$/m.exec(played.stdout)?.[1] as string;
  const before = readFileSync(transcript, "utf8").length;
  const server = await startScriptedServer({
    script: parseScript(JSON.stringify({ models: ["scripted"], rules: [{ when: {}, reply: { text: "still here." } }] }), "demo test"),
    port: 0,
  });
  try {
    const child = Bun.spawn(["/bin/sh", "-c", `${command} --once 'and now?' --mode direct:python --json`], {
      cwd: tmpdir(),
      env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
    expect(stdout).toContain("still here.");
    const grown = readFileSync(transcript, "utf8");
    expect(grown.length).toBeGreaterThan(before);
    expect(grown.slice(before)).toContain("and now?");
  } finally {
    await server.stop();
  }
});

test("org demo --help says what it does; a wrong flag is a usage error", async () => {
  const help = await demo(["--help"]);
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain("Usage: org demo [--fast]");
  const wrong = await demo(["--slow"]);
  expect(wrong.exitCode).toBe(2);
  expect(wrong.stderr).toContain("unknown option '--slow' for demo");
});
