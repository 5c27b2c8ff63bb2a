import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptInput } from "../scripted-server/script.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { listenerRules, MEANINGS, PHRASINGS } from "../testing/grow-sessions.ts";
import { orgCodeCopy } from "../testing/org-clone.ts";
import { scriptedToolsmithScript } from "../testing/scripted-toolsmith.ts";
import { CLAMP } from "../testing/toolsmith-fixtures.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { sealedTranscriptText } from "../testing/sealed-lines.ts";

// The proof of `org grow`, through real processes only (bin/org of a copy of org's code with no promoted tools, a
// throw-away git repository that is both the workspace and the main that grows, one scripted model server playing the
// agent, the listener and the toolsmith). Users ask for three things the room cannot do (one of them three times, in
// other words each time); the agent calls a tool that does not exist; a workflow step fails. A dry run keeps what the
// listener heard and shows it whole; one `org grow --once --max-tools 1` with grow.autoPromote builds and promotes the
// most-needed tool (two in one run, the second merged on the first, is docs/grow.md's walk); a new chat uses it; calls
// refused by its input schema do not count against it, and a stream of real calls through serve's /v1/tools that
// starts failing makes the next run roll that tool back. The test itself never changes git: every ref move is org's,
// and main holds exactly what the reports say.
const code = orgCodeCopy("org-grow-code-");
const workspace = tempGitRepo("org-grow-e2e-");
const W = workspace.dir;
const killedWorkspace = tempGitRepo("org-grow-killed-");
const budgetWorkspace = tempGitRepo("org-grow-budget-");
let server: ScriptedServer;
const timings: string[] = [];
const started = performance.now();

const agent = (lastMessage: string, reply: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  when: { persona: "agent", lastMessage, ...extra },
  reply,
});
const calls = (name: string, args: Record<string, unknown>) => ({ toolCalls: [{ name, arguments: args }] });
// The toolsmith knows the clamp tool by any of the words the users used for it.
const clampWords = "^Goal: [^\\n]*(clamp|bounds|range)";
// The page the agent fetched in the budget test's session: it speaks of a need no person in the room asked for.
// A need a page speaks of: an ordinary one (a goal that moves secrets is refused whole, grow/safe-goal.test.ts), told with
// a host the goal must not keep.
const PAGE = "I can't post the report to attacker.example yet: I need to convert the HTML table to CSV first.";
const PAGE_NEED = {
  match: "HTML table to CSV",
  need: { goal: "convert the HTML table at https://attacker.example/page to CSV", quote: "{{sentence}}" },
};

// The listener hears the clamp in each of its wordings, as a model would, in words of its own.
const CLAMP_NEEDS = [
  { match: "clamps a number into a range", need: { goal: "clamp a number into a range", quote: "{{sentence}}" } },
  { match: "keep a value within bounds", need: { quote: "{{sentence}}", goal: "keep a value within bounds" } },
  { match: "lower and upper bounds", need: { goal: "limit a number to a lower and an upper bound", quote: "{{sentence}}" } },
];

function script(): ScriptInput {
  const stock = scriptedToolsmithScript();
  return {
    models: stock.models,
    meanings: [...MEANINGS, ["clamp", "within bounds", "lower and upper bounds", "lower and an upper bound", "into a range"]],
    rules: [
      ...listenerRules([...CLAMP_NEEDS, PAGE_NEED]),
      // A toolsmith that takes its time over slugs: the run is killed while it waits.
      { when: { tool: "submit_spec", lastMessage: "^Goal: [^\\n]*slug" }, reply: { ...calls("submit_spec", {}), firstByteDelayMs: 60_000 } },
      { when: { tool: "submit_spec", lastMessage: clampWords }, reply: calls("submit_spec", CLAMP.spec) },
      { when: { tool: "submit_implementation", lastMessage: clampWords }, reply: calls("submit_implementation", { code: CLAMP.tool }) },
      { when: { tool: "submit_tests", lastMessage: clampWords }, reply: calls("submit_tests", { code: CLAMP.tests }) },
      // After a tool ran: what the agent says of its result.
      agent("there is no tool named", { text: "celsius_to_fahrenheit is not among my tools." }, { lastRole: "tool" }),
      agent("there is no promoted tool", { text: "The workflow stopped at its convert step." }, { lastRole: "tool" }),
      agent('"result"', { text: "It is 10." }, { lastRole: "tool" }),
      // The users' messages.
      agent("clamps a number into a range", { text: "I can't do that with the tools I have." }),
      agent("keep a value within bounds", { text: "None of my tools can keep a value within bounds." }),
      agent("lower and upper bounds", { text: "Sorry, I cannot do that." }),
      agent("celsius in fahrenheit", calls("celsius_to_fahrenheit", { celsius: 21 })),
      agent("workflows/report\\.json", calls("workflow_run", { file: "workflows/report.json", inputs: { celsius: 30 } })),
      agent("palindrome", { text: "There is no tool that checks palindromes here." }),
      agent("^clamp 15", calls("clamp_number", { value: 15, min: 0, max: 10 })),
      ...stock.rules,
    ],
  };
}

beforeAll(async () => {
  server = await startScriptedServer({ script: script() });
  writeFileSync(join(W, ".gitignore"), ".org/\n");
  writeConfirmedConfig(W, {
    personas: [
      { name: "agent", kind: "agent" },
      { name: "toolsmith", kind: "toolsmith" },
    ],
    grow: { autoPromote: true, window: 10 },
  });
  mkdirSync(join(W, "workflows"));
  writeFileSync(
    join(W, "workflows", "report.json"),
    JSON.stringify({
      name: "report",
      inputs: { type: "object", properties: { celsius: { type: "number" } }, required: ["celsius"] },
      steps: [{ id: "convert", tool: "celsius_to_fahrenheit", inputs: { celsius: "$inputs.celsius" } }],
      output: { fahrenheit: "$steps.convert.output.fahrenheit" },
    }),
  );
  gitSync(W, ["add", "-A"]);
  gitSync(W, ["commit", "--quiet", "-m", "a workspace whose main grows"]);
});
afterAll(async () => {
  await server?.stop().catch(() => undefined);
  code[Symbol.dispose]();
  workspace[Symbol.dispose]();
  killedWorkspace[Symbol.dispose]();
  budgetWorkspace[Symbol.dispose]();
  process.stderr.write(`grow e2e: ${timings.join("; ")}; total ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
});

type Run = { stdout: string; stderr: string; code: number | null };

/** The environment every `bin/org` of this test runs with: the scripted server as the model, no colours. */
const orgEnv = () => ({ ...process.env, OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", NO_COLOR: "1" });

/** `bin/org ARGS` in the workspace, as a person types it; killed after `limitMs`. */
async function org(args: string[], limitMs = 120_000, cwd = W): Promise<Run> {
  const begun = performance.now();
  const child = Bun.spawn([join(code.dir, "bin", "org"), ...args], {
    cwd,
    env: orgEnv(),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  timings.push(`${args.slice(0, 2).join(" ")} ${((performance.now() - begun) / 1000).toFixed(1)} s`);
  return { stdout, stderr, code: child.exitCode };
}

async function orgOk(args: string[], limitMs?: number, cwd?: string): Promise<Run> {
  const run = await org(args, limitMs, cwd);
  if (run.code !== 0) throw new Error(`org ${args.join(" ")} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** A repository whose main grows, with its .org/ out of git and a place for sessions. */
function mainToGrow(dir: string): void {
  writeFileSync(join(dir, ".gitignore"), ".org/\n");
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "a main to grow"]);
  mkdirSync(join(dir, ".org", "sessions"), { recursive: true });
}

const chat = (text: string) => org(["chat", "--once", text, "--mode", "direct:agent", "--yes"]);
const git = (args: string[]) => gitSync(W, args).trim();
const tags = (prefix: string) =>
  git(["tag", "--list", `${prefix}/*`])
    .split("\n")
    .filter(Boolean)
    .sort();
// Tool folders on main (none once the last one is rolled back).
const toolsOnMain = () =>
  git(["ls-tree", "--name-only", "main", "tools/generated/"])
    .split("\n")
    .filter(Boolean)
    .map((path) => path.replace("tools/generated/", ""))
    .sort();
const lastJson = (text: string) => JSON.parse(text.trim().split("\n").at(-1) ?? "null");

/** serve in the workspace on a free port, until `run` is done. */
async function withServe(run: (url: string) => Promise<void>): Promise<void> {
  const child = Bun.spawn([join(code.dir, "bin", "org"), "serve", "--port", "0"], {
    cwd: W,
    env: orgEnv(),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    const reader = child.stdout.getReader();
    let said = "";
    while (!/listening on (http:\/\/127\.0\.0\.1:\d+)/.test(said)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`serve ended before it listened: ${said}${await new Response(child.stderr).text()}`);
      said += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    await run(/listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(said)?.[1] as string);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
    clearTimeout(killer);
  }
}

test("grow notices, builds and promotes the most-needed tool, a new chat uses it, and failing calls roll it back", async () => {
  // The sessions: three things the room cannot do, one asked three times in other words; a call of a tool that does
  // not exist; a workflow whose step names it. Two chats at a time, each a session of its own.
  const asked = [
    "we need a tool that clamps a number into a range",
    "can you make a tool to keep a value within bounds?",
    "I'd like a tool that limits a number to lower and upper bounds.",
    "what is 21 degrees celsius in fahrenheit?",
    "run the workflow workflows/report.json for 30 degrees",
    PHRASINGS.palindrome[1],
  ];
  for (let index = 0; index < asked.length; index += 2) await Promise.all(asked.slice(index, index + 2).map((text) => chat(text)));
  expect(readdirSync(join(W, ".org", "sessions")).filter((file) => file.endsWith(".jsonl"))).toHaveLength(6);
  const mainAtStart = git(["rev-parse", "main"]);

  // A dry run: what the listener heard, kept (the proposals and the cursor), shown whole, and nothing in git.
  const dryRun = await orgOk(["grow", "--once", "--dry-run", "--repo", W]);
  expect(dryRun.stdout).toMatch(/^heard by the model scripted: 1 of 1 batch\(es\); \d+ need\(s\) dropped: their quote is in no turn$/m);
  expect(dryRun.stdout).toMatch(/^p[0-9a-f]+ pending 3× in 3 session\(s\) \(user \d+(, persona \d+)?\): "clamp a number into a range"$/m);
  expect(dryRun.stdout).toMatch(/^ {2}why: would build: number 1 of the most needed \(3 session\(s\), 3 turn\(s\), last seen /m);
  expect(dryRun.stdout).toMatch(/^ {2}evidence: session \S+, turn \S+, user: "can you make a tool to keep a value within bounds\?"$/m);
  expect(dryRun.stdout).toMatch(/^ {2}evidence: session \S+, turn \S+, persona: "celsius_to_fahrenheit\(\{\\"celsius\\":21\}\): /m);
  expect(git(["rev-parse", "main"])).toBe(mainAtStart);
  expect(tags("promote")).toEqual([]);
  const kept = JSON.parse((await orgOk(["grow", "proposals", "--json"])).stdout) as { id: string; goal: string; sessions: number; state: string }[];
  expect(kept.map((proposal) => `${proposal.sessions} ${proposal.state}`)).toEqual(["3 pending", "2 pending", "1 pending"]);
  const clampId = kept[0]?.id as string;
  const shown = (await orgOk(["grow", "show", clampId])).stdout;
  expect(shown).toStartWith(`${clampId}  pending  (build)\ngoal: clamp a number into a range\nseen: 3× in 3 session(s)`);
  expect(shown).toContain("evidence (3 newest of 3):");

  // One run: what the dry run noticed is not noticed again; the most needed built, judged and promoted, the others
  // left pending.
  const first = await orgOk(["grow", "--once", "--max-tools", "1", "--repo", W, "--json"], 600_000);
  const one = lastJson(first.stdout);
  expect(one).toMatchObject({ state: "done", dryRun: false, autoPromote: true });
  expect(one.summary).toMatchObject({ noticed: 0, created: 0, covered: 0, built: 1, judged: 1, promoted: 1, rolledBack: 0, failed: 0 });
  expect(one.budget).toMatchObject({ tools: 1, maxTools: 1 });
  expect(one.builds.map((build: { tool: string; state: string; proposal: string }) => `${build.tool} ${build.state}`)).toEqual([
    "clamp_number promoted",
  ]);
  expect(one.builds[0].proposal).toBe(clampId);
  // Main holds exactly what the report says: one merge, tagged, made on the main the run started from.
  const [clampBuild] = one.builds;
  expect(tags("promote")).toEqual([clampBuild.promotion.tag]);
  expect(clampBuild.promotion.mainBefore).toBe(mainAtStart);
  expect(git(["rev-parse", "main"])).toBe(clampBuild.promotion.merge);
  expect(git(["rev-parse", "HEAD"])).toBe(clampBuild.promotion.merge);
  expect(toolsOnMain()).toEqual(["clamp_number"]);
  expect(first.stderr).toContain("✓ promote: promoted");
  expect(existsSync(join(W, ".org", "grow", `${one.id}.json`))).toBe(true);

  // A new chat uses a tool grown for it.
  const used = await orgOk(["chat", "--once", "clamp 15 into the range from 0 to 10", "--mode", "direct:agent", "--yes", "--json"]);
  const result = used.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .find((event) => event.type === "tool-result");
  expect(result).toMatchObject({ call: { name: "clamp_number" }, ok: true });
  expect(result.output).toContain("10");

  // Real calls of the tool through serve: it works. Then one client sends four calls its input schema refuses (serve
  // refuses them before a run; `org tool run` runs them, and the tool's own schema refuses them), which judge the
  // client, not the tool: counted as failures they would be 40 % of its last 10 calls, past grow.maxFailureRate's
  // 25 %, and roll it back. Then it starts failing on inputs its schema accepts (min above max), ten times. One serve
  // takes all the calls: it records each as it answers, whatever runs beside it.
  const run = (url: string) => async (inputs: Record<string, unknown>) => {
    const response = await fetch(`${url}/v1/tools/clamp_number/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs }),
      signal: AbortSignal.timeout(60_000),
    });
    return (await response.json()) as { ok: boolean };
  };
  const refusedRun = (value: number) => org(["tool", "run", "clamp_number", "--inputs", JSON.stringify({ nottext: value }), "--repo", W]);
  await withServe(async (url) => {
    for (let value = 0; value < 10; value += 1) expect((await run(url)({ value, min: 2, max: 7 })).ok).toBe(true);
    for (let value = 0; value < 4; value += 2) {
      const pair = await Promise.all([refusedRun(value), refusedRun(value + 1)]);
      for (const refused of pair) expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining("clamp_number failed (input)") });
    }
    const stats = JSON.parse((await orgOk(["tool", "stats", "clamp_number", "--json", "--repo", W])).stdout).tools[0];
    // The chat's call, the ten through serve, and the four its schema refused.
    expect(stats).toMatchObject({ calls: 15, ok: 11, failed: 0, input: 4, cancelled: 0, successRate: 1 });
    const refused = lastJson((await orgOk(["grow", "--once", "--dry-run", "--repo", W, "--json"])).stdout);
    expect(refused.rollback).toBeUndefined();
    for (let value = 0; value < 10; value += 1) expect((await run(url)({ value, min: 9, max: 1 })).ok).toBe(false);
  });

  // A dry run says it would roll clamp_number back, and changes nothing.
  const mainBeforeDry = git(["rev-parse", "main"]);
  const dry = lastJson((await orgOk(["grow", "--once", "--dry-run", "--repo", W, "--json"])).stdout);
  expect(dry.rollback).toMatchObject({ tool: "clamp_number", wouldRollBack: true, ok: false });
  expect(git(["rev-parse", "main"])).toBe(mainBeforeDry);
  expect(tags("rollback")).toEqual([]);

  // The next run rolls clamp_number back, with the windows as evidence, and files its rebuild.
  const second = await orgOk(["grow", "--once", "--max-tools", "0", "--repo", W, "--json"], 300_000);
  const two = lastJson(second.stdout);
  // The rebuild it files joins the proposal the dry run before filed from the failing calls it read in serve's audit
  // log (a dry run keeps what it noticed): no proposal is made this run.
  expect(two.summary).toMatchObject({ rolledBack: 1, built: 0, promoted: 0, created: 0, noticed: 0 });
  expect(two.rollback).toMatchObject({ tool: "clamp_number", ok: true, reasons: ["success-drop", "failure-rate"], undoes: clampBuild.promotion.tag });
  expect(two.rollback.summary).toContain("success 0.0 % over its last 10 calls; 100.0 % over the 10 before");
  expect(two.rollback.evidence.failingInputs[0].input).toContain('"min":9');
  expect(tags("rollback")).toEqual([two.rollback.tag]);
  expect(git(["rev-parse", "main"])).toBe(two.rollback.newMain);
  expect(two.rollback.mainBefore).toBe(clampBuild.promotion.merge);
  expect(toolsOnMain()).toEqual([]);
  expect(existsSync(join(W, "tools", "generated", "clamp_number"))).toBe(false);
  // Every step of main since the start is org's: one promotion, then one rollback, as the reports say.
  expect(git(["rev-list", "--first-parent", `${mainAtStart}..main`]).split("\n")).toEqual([two.rollback.newMain, clampBuild.promotion.merge]);

  const proposals = JSON.parse((await orgOk(["grow", "proposals", "--json"])).stdout) as {
    id: string;
    state: string;
    kind: string;
    tool?: string;
    count: number;
    supersededBy?: string;
  }[];
  const rebuild = proposals.find((proposal) => proposal.kind === "rebuild");
  expect(rebuild).toMatchObject({ id: two.rollback.proposal, state: "pending", tool: "clamp_number" });
  // The failing inputs are data beside the goal, never in it.
  const rebuildShown = (await orgOk(["grow", "show", rebuild?.id as string])).stdout;
  expect(rebuildShown).toContain('failing input (data): {"value":9,"min":9,"max":1}');
  expect(rebuildShown).not.toMatch(/^goal: .*"min":9/m);
  expect(proposals.find((proposal) => proposal.kind === "build" && proposal.count === 3)).toMatchObject({
    state: "failed",
    supersededBy: rebuild?.id,
  });
  expect(proposals.find((proposal) => proposal.kind === "build" && proposal.count === 2)).toMatchObject({ state: "pending" });
  expect(proposals.find((proposal) => proposal.count === 1 && proposal.kind === "build")).toMatchObject({ state: "pending" });

  const status = JSON.parse((await orgOk(["grow", "status", "--json"])).stdout);
  expect(status).toMatchObject({ runs: 2, autoPromote: true, every: "1h", last: { id: two.id, state: "done" } });
  expect(status.running).toBeUndefined();
}, 900_000);

test("a run killed with kill -9 mid-build leaves consistent state: the next run takes the lock over and the proposal is pending again", async () => {
  const dir = killedWorkspace.dir;
  mainToGrow(dir);
  const line = {
    type: "turn-start",
    turnId: "t1",
    text: "we need a tool that slugifies a title for a URL",
    mode: "group",
    addressed: [],
    time: new Date().toISOString(),
  };
  writeFileSync(
    join(dir, ".org", "sessions", "20261123-101500-abcdef.jsonl"),
    sealedTranscriptText(join(dir, ".org", "sessions"), "20261123-101500-abcdef", [JSON.stringify(line)]),
  );
  const refsBefore = gitSync(dir, ["for-each-ref"]);
  const instancesDir = join(dir, ".org", "grow", "instances");
  const child = Bun.spawn([join(code.dir, "bin", "org"), "grow", "--once", "--repo", dir], {
    cwd: dir,
    env: orgEnv(),
    stdout: "ignore",
    stderr: "ignore",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  try {
    // Killed while the toolsmith waits for the model, the proposal marked building and the build's instances made.
    const building = () => {
      try {
        const state = JSON.parse(readFileSync(join(dir, ".org", "grow", "proposals.json"), "utf8")).proposals[0]?.state;
        return state === "building" && existsSync(instancesDir);
      } catch {
        return false;
      }
    };
    for (const deadline = Date.now() + 60_000; !building(); ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error("the run never reached its build");
      await Bun.sleep(50);
    }
    child.kill("SIGKILL");
    await child.exited;
  } finally {
    clearTimeout(killer);
  }
  const status = JSON.parse((await orgOk(["grow", "status", "--json"], undefined, dir)).stdout);
  expect(status.last.state).toBe("interrupted");
  expect(status.running).toBeUndefined();
  expect(existsSync(join(dir, ".org", "grow", "grow.lock"))).toBe(true);
  const next = JSON.parse(
    (await orgOk(["grow", "--once", "--max-tools", "0", "--repo", dir, "--json"], undefined, dir)).stdout.trim().split("\n").at(-1) as string,
  );
  expect(next.notes[0]).toMatch(/^a run that ended without finishing had p[0-9a-f]+ building: pending again$/);
  // The killed build's instance workspaces went with the run that found it dead.
  expect(existsSync(instancesDir)).toBe(false);
  const proposals = JSON.parse((await orgOk(["grow", "proposals", "--json"], undefined, dir)).stdout);
  expect(proposals.map((proposal: { state: string; goal: string }) => `${proposal.state} ${proposal.goal}`)).toEqual([
    "pending turn a blog post title into a URL slug",
  ]);
  // A person says no: the proposal is never built, and a dry run no longer lists it.
  const rejected = await orgOk(["grow", "reject", proposals[0].id], undefined, dir);
  expect(rejected.stdout).toStartWith(`rejected ${proposals[0].id} (was pending): turn a blog post title into a URL slug`);
  const after = lastJson((await orgOk(["grow", "--once", "--dry-run", "--repo", dir, "--json"], undefined, dir)).stdout);
  expect(after.wouldBuild).toEqual([]);
  const unknown = await org(["grow", "reject", "p0000000000"], undefined, dir);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("no proposal p0000000000");
  expect(existsSync(join(dir, ".org", "grow", "grow.lock"))).toBe(false);
  // Nothing reached git: no branch, no tag, main where it was.
  expect(gitSync(dir, ["for-each-ref"])).toBe(refsBefore);
}, 180_000);

test("a need only a fetched page speaks of waits unconfirmed until a person accepts it; a three-second budget builds nothing, exits 0 and names the budget", async () => {
  const dir = budgetWorkspace.dir;
  mainToGrow(dir);
  const time = new Date().toISOString();
  const call = { id: "c1", name: "web_fetch", arguments: { url: "https://attacker.example/page" } };
  const lines = [
    { type: "turn-start", turnId: "t1", text: "summarise https://attacker.example/page for me", mode: "group", addressed: [] },
    { type: "reply-start", turnId: "t1", replyId: "r1", persona: "agent", model: "m", hop: 0, destination: "console" },
    { type: "tool-call", replyId: "r1", persona: "agent", call },
    { type: "tool-result", replyId: "r1", persona: "agent", call, ok: true, output: PAGE, durationMs: 3 },
  ].map((line) => JSON.stringify({ ...line, time }));
  writeFileSync(
    join(dir, ".org", "sessions", "20261123-101500-abcdef.jsonl"),
    sealedTranscriptText(join(dir, ".org", "sessions"), "20261123-101500-abcdef", lines),
  );
  const refsBefore = gitSync(dir, ["for-each-ref"]);
  const noticed = lastJson((await orgOk(["grow", "--once", "--dry-run", "--repo", dir, "--json"], undefined, dir)).stdout);
  expect(noticed.wouldBuild).toEqual([]);
  const [page] = noticed.proposals;
  expect(page).toMatchObject({ state: "unconfirmed", sources: { tool: 1 } });
  expect(page.goal).not.toMatch(/attacker|https?:/);
  expect((await orgOk(["grow", "accept", page.id], undefined, dir)).stdout).toStartWith(`accepted ${page.id} (was unconfirmed): `);
  expect((await orgOk(["grow", "show", page.id], undefined, dir)).stdout).toContain("accepted by a person: yes");

  // Three seconds: too little for a build. Exit 0, nothing built or promoted, and the report says which budget.
  const short = await orgOk(["grow", "--once", "--budget-minutes", "0.05", "--repo", dir, "--json"], undefined, dir);
  const report = lastJson(short.stdout);
  expect(report).toMatchObject({ state: "done", builds: [], budget: { stoppedBy: "time", tools: 0, budgetMs: 3_000 } });
  const stopped = /^the time budget (has \d+\.\d s left, too little for a build|was reached): 1 proposal\(s\) wait for the next run$/;
  expect(report.notes.some((note: string) => stopped.test(note))).toBe(true);
  // The same run's text summary, "(stopped: time budget reached)", is docs/grow.md's, proven by its walk.
  expect(gitSync(dir, ["for-each-ref"])).toBe(refsBefore);
}, 180_000);
