import { afterAll, beforeAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseScript } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { checkoutState, gitSync } from "../../testing/temp-git-repo.ts";
import { hostileWorkspace } from "../../testing/hostile-workspace.ts";

const repoRoot = join(import.meta.dir, "..", "..");
const workspace = mkdtempSync(join(tmpdir(), "org-demo-test-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
// Issue 18 §1: the demo starts in a directory that plants .env*, bunfig.toml, tsconfig.json, package.json and
// node_modules; neither org nor any process of its session (the sandbox, the gate's tests) may read them.
const launchedFrom = hostileWorkspace("org-demo-cwd-");
afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  launchedFrom[Symbol.dispose]();
});

async function demo(args: string[]) {
  const child = Bun.spawn(orgCommand(["demo", ...args]), {
    cwd: launchedFrom.dir,
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

// One played demo serves both tests below (it is the slowest thing here): the first reads what it printed and its
// transcript as the demo left it; the second runs the commands it printed, and goes on in its session.
let played: { stdout: string; stderr: string; exitCode: number; transcriptText: string; checkoutBefore: string };
beforeAll(async () => {
  const checkoutBefore = checkoutState(repoRoot);
  const result = await demo(["--fast", "--workspace", workspace]);
  const transcript = /^transcript: (.+\.jsonl)$/m.exec(result.stdout)?.[1];
  const transcriptText = transcript !== undefined && existsSync(transcript) ? readFileSync(transcript, "utf8") : "";
  played = { ...result, transcriptText, checkoutBefore };
}, 240_000);

test("org demo plays: personas at once, sh in the sandbox, direct:python, the toolsmith, the gate, promote, the new tool, /compact", async () => {
  const { stdout, stderr, exitCode, checkoutBefore } = played;
  // On an error, the lines with ✗ say where it was.
  expect({ stderr, failed: stdout.split("\n").filter((line) => line.includes("✗") || line.startsWith("verdict:")) }).toEqual({
    stderr: "",
    failed: ["verdict: pass — every stage passed"],
  });
  expect(exitCode).toBe(0);
  expect(launchedFrom.markers()).toEqual([]);
  expect(stdout).not.toContain("ORG_SANDBOX=maybe");
  expect(stdout).not.toContain("UNSANDBOXED");

  // The user's first line goes to the group; both personas answer.
  expect(stdout).toContain("group › Hi all! What can you do in here? Have a look around the sandbox.");
  expect(stdout).toMatch(/agent\s+│ ⚙ sh /);
  expect(stdout).toMatch(/agent\s+│ .*Linux/);
  expect(stdout).toMatch(/python\s+│ I run Python/);
  expect(stdout).toMatch(/toolsmith\s+│ I build tools on request/);
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

  // The toolsmith: build_tool, then the pipeline's progress phase by phase, then a cand/ branch.
  expect(stdout).toContain("· mode is now direct:toolsmith");
  expect(stdout).toContain("direct:toolsmith › I need a tool to count the words in a text.");
  expect(stdout).toMatch(/toolsmith\s+│ ⚙ build_tool /);
  const steps = [
    /✓ spec: done · word_count: 3 examples/,
    /✓ implementation: done/,
    /✓ tests: done/,
    /… validation: running · 1\/6 policy/,
    /✓ validation: done/,
    /✓ branch: done · cand\//,
  ];
  const positions = steps.map((step) => stdout.search(step));
  for (const position of positions) expect(position).toBeGreaterThan(-1);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  const branch = /^the toolsmith's branch: (cand\/\d{8}T\d{6}Z) in the throw-away repository (.+)$/m.exec(stdout);
  expect(branch).not.toBeNull();
  const [, branchName, toolRepo] = branch as RegExpExecArray;
  // The branch is in a throw-away repository inside the demo's workspace, with the tool on it; the checkout is untouched.
  expect(toolRepo?.startsWith(`${workspace}/`)).toBe(true);
  expect(
    gitSync(toolRepo as string, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
      .split("\n")
      .filter(Boolean)
      .sort(),
  ).toEqual([branchName as string, "main"].sort());
  expect(gitSync(toolRepo as string, ["ls-tree", "-r", "--name-only", branchName as string])).toContain("word_count/tool.ts");
  expect(checkoutState(repoRoot)).toBe(checkoutBefore);
  expect(gitSync(repoRoot, ["branch", "--list", branchName as string]).trim()).toBe("");
  // The toolsmith's own hint names that repository; the demo ran the tool once.
  const toolsmithTry = new RegExp(
    `toolsmith\\s+│ word_count is ready on branch ${branchName}; it is offered to the room once the fitness gate promotes it\\. Try it: (\\S+ tool run word_count --ref ${branchName} --repo ${toolRepo} --inputs '\\{"text":"one two three"\\}')$`,
    "m",
  ).exec(stdout)?.[1];
  expect(toolsmithTry).toBeDefined();
  const tried = Bun.spawnSync(["/bin/sh", "-c", toolsmithTry as string], { cwd: tmpdir(), env: { ...process.env, NO_COLOR: "1" }, stdin: "ignore" });
  expect({ code: tried.exitCode, stdout: tried.stdout.toString(), stderr: tried.stderr.toString() }).toEqual({
    code: 0,
    stdout: '{"words":3}\n',
    stderr: "",
  });
  expect(stdout).toContain('ran once, what word_count printed:\n{"words":3}\n');

  // The whole loop in the throw-away repository: the fitness gate judges the branch, promote merges it into main.
  expect(stdout).toMatch(
    new RegExp(`^the fitness gate: ${branchName} served at http://127\\.0\\.0\\.1:\\d+ beside main at http://127\\.0\\.0\\.1:\\d+$`, "m"),
  );
  expect(stdout).toMatch(/^ok +scenarios +tool word_count .*new tool: the candidate passes 3 of its 3 example\(s\)/m);
  expect(stdout).toContain("verdict: pass — every stage passed");
  expect(stdout).toMatch(new RegExp(`^promoted ${branchName} as [0-9a-f]{12} \\(tag promote/\\d{8}T\\d{6}Z\\); main was [0-9a-f]{12}$`, "m"));
  expect(gitSync(toolRepo as string, ["ls-tree", "--name-only", "main:tools/generated"]).trim()).toBe("word_count");
  expect(gitSync(toolRepo as string, ["tag", "--list", "promote/*"]).trim()).toMatch(/^promote\/\d{8}T\d{6}Z$/);
  // Then the room, opened again on the same session, offers the promoted tool, and the agent calls it.
  expect(stdout).toContain('direct:agent › Count the words in "the gate promoted it" with the new tool.');
  expect(stdout).toContain("agent asks to run word_count (promoted tools ask first); the demo answers y");
  expect(stdout).toMatch(/agent\s+│ ✓ word_count/);
  expect(stdout).toContain("what word_count printed in the sandbox for agent:");
  expect(stdout).toMatch(/│ .*"words":\s*4/);
  expect(stdout).toMatch(/agent\s+│ word_count, the tool the toolsmith built and the gate promoted, counts 4 words in it\./);
  // Then /compact: the agent's earlier messages summarised by the scripted summariser, said as the room says one.
  const compacted = /^· agent: compacted (\d+) messages into a summary, (\d+) tokens$/m.exec(stdout);
  expect(compacted).not.toBeNull();
  expect(stdout.indexOf("direct:agent › /compact")).toBeGreaterThan(stdout.indexOf("counts 4 words in it."));
  expect(stdout.indexOf(compacted?.[0] ?? "")).toBeGreaterThan(stdout.indexOf("direct:agent › /compact"));
  // /context shows the next prompt holding that summary, in the window the server stated, before the newest messages.
  const context = stdout.slice(stdout.indexOf("direct:agent › /context"));
  expect(context).toMatch(/^agent \(scripted\): next prompt [\d.]+ k? ?of a 8\.2 k-token window \(n_ctx 8192 from \/props\)$/m);
  const summaryRow = new RegExp(`^  summary +${compacted?.[2]} \\(${compacted?.[1]} earlier messages\\)$`, "m").exec(context);
  expect(summaryRow).not.toBeNull();
  expect(context.search(/^ {2}messages +\d+ \(2 newest heard\)$/m)).toBeGreaterThan(summaryRow?.index ?? Infinity);
  // The transcript keeps it as a sealed compaction line, its summary drawn from what the agent said.
  const compaction = played.transcriptText
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
    .find((event) => event.type === "compaction");
  expect(compaction).toMatchObject({ persona: "agent", messages: Number(compacted?.[1]), tokens: Number(compacted?.[2]) });
  expect(compaction.seal).toMatch(/^[0-9a-f]{32}$/);
  expect(compaction.summary).toContain("notes.txt");

  // The opening question is answered on topic.
  expect(stdout).toMatch(/agent\s+│ I run shell commands in this sandbox, and I call the tools the toolsmith builds/);

  // It ends by saying where the transcript is, and the transcript is there.
  const transcript = /^transcript: (.+\.jsonl)$/m.exec(stdout)?.[1];
  expect(transcript).toBeDefined();
  expect(existsSync(transcript as string)).toBe(true);
  const events = played.transcriptText
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  // The two first replies overlapped: each started before the other ended.
  const firstTurn = events.find((event) => event.type === "turn-start")?.turnId;
  const index = (type: string, persona: string) =>
    events.findIndex((event) => event.type === type && event.persona === persona && String(event.replyId).startsWith(firstTurn));
  expect(index("reply-start", "python")).toBeLessThan(index("reply-end", "agent"));
  expect(index("reply-start", "agent")).toBeLessThan(index("reply-end", "python"));
}, 240_000);

test("the commands the demo prints run from another directory: the tool on its branch, and the session goes on", async () => {
  expect(played.exitCode).toBe(0);

  const tryIt = /^try it: (.+ tool run word_count --inputs .+ --ref cand\/\S+ --repo .+)$/m.exec(played.stdout)?.[1];
  expect(tryIt).toBeDefined();
  const ran = Bun.spawn(["/bin/sh", "-c", tryIt as string], {
    cwd: tmpdir(),
    env: { ...process.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [ranOut, ranErr, ranCode] = await Promise.all([new Response(ran.stdout).text(), new Response(ran.stderr).text(), ran.exited]);
  expect(ranErr).toBe("");
  expect(ranCode).toBe(0);
  expect(JSON.parse(ranOut)).toEqual({ words: 3 });

  const command = /^go on from there with a real model: (.+)$/m.exec(played.stdout)?.[1];
  expect(command).toContain(`--workspace ${workspace} --resume `);
  // The workspace is kept for that command, and the demo says how to remove it.
  expect(played.stdout).toContain(`the workspace stays for that; done with it: rm -rf ${workspace}\n`);
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
}, 240_000);
