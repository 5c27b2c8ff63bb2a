// org grow's own cost, model time excluded, each figure beside a baseline measured in the same run:
//   noticing: the time per session of reading every transcript from the cursor, finding the facts, putting every turn
//     to the listener (the scripted server playing report_needs, its time taken out) and checking each quote, against
//     reading and JSON.parse-ing the same lines and nothing else (target: at most 20 ms a session beside the model's);
//   merging: 1 000 needs merged into proposals by their words alone, and with embeddings and the model's same_need
//     answers (the embedder's and the model's time taken out);
//   building: the time per promoted tool of `org grow --once` with grow.autoPromote (the run's wall time less the
//     model's, over the tools it promoted), against the bare cycle (cycle/build-and-promote.ts, build, start, judge,
//     promote) for the same goals in a repository of its own; with each generation's median and the toolsmith's
//     validation median, whose targets (≤ 4 s, ≤ 600 ms on 2 cores) belong to the cycle itself.
//   bun bench/grow.ts [--sessions 1000] [--tools 3]
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadOrgConfig } from "../config/org-config.ts";
import { buildAndPromote } from "../cycle/build-and-promote.ts";
import { inProcessInstances } from "../cycle/in-process-instances.ts";
import { promotionContext } from "../cycle/promotion-context.ts";
import { RepoGit } from "../git/repo-git.ts";
import { GrowBudget } from "../grow/grow-budget.ts";
import { growRequest } from "../grow/grow-request.ts";
import { goalVectors } from "../grow/goal-vectors.ts";
import { EMPTY_CURSOR } from "../grow/grow-state.ts";
import { hearNeeds } from "../grow/hear-needs.ts";
import { mergeNeeds } from "../grow/merge-needs.ts";
import { noticeNeeds, toolKinds } from "../grow/notice-needs.ts";
import type { Need } from "../grow/room-needs.ts";
import { sameNeedQuestions } from "../grow/same-need-question.ts";
import { httpModel } from "../llm/http-model.ts";
import { ollamaEmbedder } from "../registry/ollama-embedder.ts";
import { runGrow } from "../grow/run-grow.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { SCRIPTED_TOOLS, scriptedToolsmithScript } from "../testing/scripted-toolsmith.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { sealedTranscriptText } from "../testing/sealed-lines.ts";

const { values } = parseArgs({ options: { sessions: { type: "string", default: "1000" }, tools: { type: "string", default: "3" } } });
const sessionCount = Math.max(1, Number(values.sessions));
const toolCount = Math.min(SCRIPTED_TOOLS.length, Math.max(1, Number(values.tools)));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const ms = (value: number) => `${value.toFixed(0)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;

console.log(`bench/grow: ${availableParallelism()} cores, bun ${Bun.version}`);

// ── Noticing ────────────────────────────────────────────────────────────────────────────────────────────────
// Sessions as the room writes them: turns, replies streamed as deltas, tool calls and results; one turn in five
// asks for one of twenty things in one of three wordings, and its reply says it could not. The listener hears each
// want by its words (a small model's report_needs, each goal in words of its own), and knows them as one meaning.
const WANTS = [
  "counts the vowels in a text",
  "reverses the order of the words in a sentence",
  "converts celsius to fahrenheit",
  "slugifies a title for a URL",
  "clamps a number into a range",
  "checks whether a phrase is a palindrome",
  "adds up a list of numbers",
  "finds the largest number in a list",
  "parses a CSV file into rows",
  "formats JSON with indentation",
  "hashes data with SHA-256",
  "splits a URL into its parts",
  "sorts numbers in ascending order",
  "writes a number in Roman numerals",
  "counts the lines of a text",
  "extracts the email addresses of a text",
  "converts a date into ISO 8601",
  "tells the day of the week of a date",
  "computes the median of a list of numbers",
  "strips HTML tags from a page",
];
// As people ask: none of these is a request "for a tool" in the words the old rules knew.
const ASKS = ["I wish we had something that ", "could someone build a thing that ", "is there any way to get something that "];
const workspace = mkdtempSync(join(tmpdir(), "org-bench-grow-"));
const sessionsDir = join(workspace, ".org", "sessions");
mkdirSync(sessionsDir, { recursive: true });
const time = new Date().toISOString();
let lines = 0;
for (let session = 0; session < sessionCount; session += 1) {
  const out: string[] = [];
  for (let turn = 0; turn < 10; turn += 1) {
    const turnId = `s${session}-${turn}`;
    const replyId = `${turnId}-agent`;
    const asks = (session * 10 + turn) % 5 === 0;
    const want = WANTS[(session * 7 + turn) % WANTS.length] ?? "";
    const text = asks ? `${ASKS[(session + turn) % ASKS.length]}${want}` : `what does line ${turn} of notes.txt say?`;
    const reply = asks ? "I can't do that with the tools I have." : `Line ${turn} says: ${"lorem ipsum ".repeat(20)}`;
    out.push(JSON.stringify({ type: "turn-start", turnId, text, mode: "group", addressed: ["agent"], time }));
    out.push(JSON.stringify({ type: "reply-start", turnId, replyId, persona: "agent", model: "m", hop: 0, destination: "console", time }));
    if (!asks) {
      const call = { id: `c${turn}`, name: "sh", arguments: { cmd: `sed -n ${turn}p notes.txt` } };
      out.push(JSON.stringify({ type: "tool-call", replyId, persona: "agent", call, time }));
      out.push(JSON.stringify({ type: "tool-result", replyId, persona: "agent", call, ok: true, output: "lorem ipsum", durationMs: 5, time }));
    }
    for (let piece = 0; piece < reply.length; piece += 40)
      out.push(JSON.stringify({ type: "text-delta", replyId, persona: "agent", text: reply.slice(piece, piece + 40), time }));
    out.push(
      JSON.stringify({
        type: "message",
        persona: "agent",
        message: { id: replyId, turnId, from: "agent", text: reply, time, heardBy: ["agent"], addressed: [] },
        time,
      }),
    );
    out.push(JSON.stringify({ type: "turn-end", turnId, ok: true, stats: {}, time }));
  }
  lines += out.length;
  const id = `2026112${session % 10}-1015${String(session).padStart(4, "0")}-s${session}`;
  writeFileSync(join(sessionsDir, `${id}.jsonl`), sealedTranscriptText(sessionsDir, id, out));
}

const kindOf = toolKinds([]);
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const listener = await startScriptedServer({
  script: {
    rules: [
      {
        when: { tool: "report_needs" },
        reply: { reportNeeds: WANTS.map((want) => ({ match: escapeRegex(want), need: { quote: "{{sentence}}", goal: `something that ${want}` } })) },
      },
      { when: { tool: "same_need" }, reply: { sameNeed: {} } },
    ],
    meanings: WANTS.map((want) => [want]),
  },
});
let notice = { ownMs: Number.POSITIVE_INFINITY, modelMs: 0, needs: 0, batches: 0, dropped: 0 };
let floorMs = Number.POSITIVE_INFINITY;
let heard: Need[] = [];
for (let round = 0; round < 3; round += 1) {
  // The floor: every transcript read and each line parsed, nothing found.
  let started = performance.now();
  let parsed = 0;
  for (const file of readdirSync(sessionsDir))
    for (const line of readFileSync(join(sessionsDir, file), "utf8").split("\n")) if (line) parsed += JSON.parse(line) ? 1 : 0;
  floorMs = Math.min(floorMs, performance.now() - started);
  if (parsed !== lines) throw new Error(`read ${parsed} lines of ${lines}`);
  const budget = new GrowBudget({ budgetMs: 3_600_000, maxTokens: 1e12, maxTools: 0 });
  const model = budget.model(httpModel({ server: listener.url, modelId: "qwen3:8b" }));
  started = performance.now();
  const noticed = noticeNeeds({ workspaceDir: workspace, cursor: EMPTY_CURSOR, kindOf });
  const hearing = await hearNeeds(noticed.turns, model, AbortSignal.timeout(600_000));
  const took = performance.now() - started;
  const { modelMs } = budget.spent();
  if (hearing.byRules > 0) throw new Error(`the listener left ${hearing.byRules} batch(es) to the word rules: ${hearing.degraded.join("; ")}`);
  if (took - modelMs < notice.ownMs)
    notice = { ownMs: took - modelMs, modelMs, needs: hearing.needs.length, batches: hearing.batches, dropped: hearing.dropped };
  heard = hearing.needs;
}
rmSync(workspace, { recursive: true, force: true });
console.log(`\nnoticing: ${sessionCount} sessions, ${lines} lines, heard by the listener in ${notice.batches} batches: ${notice.needs} needs`);
console.log(
  `  org's own time ${ms(notice.ownMs)} (the model's ${ms(notice.modelMs)} taken out): ` +
    `${(notice.ownMs / sessionCount).toFixed(2)} ms a session (target ≤ 20 ms); reading and parsing the same ` +
    `lines alone ${ms(floorMs)}: ${(notice.ownMs / floorMs).toFixed(2)}× that floor (best of 3)`,
);

// ── Merging ─────────────────────────────────────────────────────────────────────────────────────────────────
const thousand = heard.slice(0, 1_000);
if (thousand.length < 1_000) throw new Error(`only ${thousand.length} needs heard: run with more --sessions`);
let byWords = { ms: Number.POSITIVE_INFINITY, proposals: 0 };
let byMeaning = { ms: Number.POSITIVE_INFINITY, modelMs: 0, proposals: 0, questions: 0 };
const vectors = await goalVectors(
  ollamaEmbedder({ server: listener.url, model: "nomic-embed-text" }),
  thousand.map((need) => need.goal),
  AbortSignal.timeout(120_000),
  [],
);
for (let round = 0; round < 3; round += 1) {
  let started = performance.now();
  const words = await mergeNeeds([], thousand, { now: new Date(), confirmSessions: 2 });
  byWords = { ms: Math.min(byWords.ms, performance.now() - started), proposals: words.proposals.length };
  const budget = new GrowBudget({ budgetMs: 3_600_000, maxTokens: 1e12, maxTools: 0 });
  const questions = sameNeedQuestions(budget.model(httpModel({ server: listener.url, modelId: "qwen3:8b" })), AbortSignal.timeout(600_000));
  started = performance.now();
  const meant = await mergeNeeds([], thousand, {
    now: new Date(),
    confirmSessions: 2,
    meaning: { ...(vectors ? { vectors } : {}), ask: questions.ask },
  });
  const own = performance.now() - started - budget.spent().modelMs;
  if (own < byMeaning.ms) byMeaning = { ms: own, modelMs: budget.spent().modelMs, proposals: meant.proposals.length, questions: questions.asked() };
}
await listener.stop();
console.log(`\nmerging 1 000 heard needs (${WANTS.length} wants, each asked ${ASKS.length} ways, heard in words of the listener's own):`);
console.log(`  by their words alone: ${ms(byWords.ms)} → ${byWords.proposals} proposals`);
console.log(
  `  with embeddings and the model's same_need: ${ms(byMeaning.ms)} (the model's ${ms(byMeaning.modelMs)} for ` +
    `${byMeaning.questions} question(s) taken out) → ${byMeaning.proposals} proposals (best of 3)`,
);

// ── Building ────────────────────────────────────────────────────────────────────────────────────────────────
const server = await startScriptedServer({ script: scriptedToolsmithScript() });
const config = loadOrgConfig(join(import.meta.dir, "..", "demo", "org.config.json"), {
  ...process.env,
  OLLAMA_BASE: server.url,
  OLLAMA_MODEL: "scripted",
});
const goals = SCRIPTED_TOOLS.slice(0, toolCount).map((tool) => tool.goal);
// One sandbox for the whole bench, as one org process has.
const sandbox = new Sandbox();

function repo(prefix: string): { dir: string } & Disposable {
  const made = tempGitRepo(prefix);
  writeFileSync(join(made.dir, ".gitignore"), ".org/\n");
  gitSync(made.dir, ["add", ".gitignore"]);
  gitSync(made.dir, ["commit", "--quiet", "-m", "a main to grow"]);
  return made;
}

// The bare cycle, goal after goal, each promoted before the next is built.
const bare: { ms: number; modelMs: number; validationMs: number }[] = [];
{
  using made = repo("org-bench-cycle-");
  const git = new RepoGit(made.dir);
  const request = growRequest({
    sandbox,
    workspaceDir: made.dir,
    repoDir: made.dir,
    config,
    dryRun: false,
    command: "bench",
    signal: AbortSignal.timeout(600_000),
  });
  const access = { sandbox: request.sandbox, sandboxPolicy: request.sandboxPolicy };
  for (const goal of goals) {
    const budget = new GrowBudget({ budgetMs: 600_000, maxTokens: 1e9, maxTools: 100 });
    const instancesDir = mkdtempSync(join(tmpdir(), "org-bench-instances-"));
    chmodSync(instancesDir, 0o755);
    const instances = inProcessInstances({ config, toolRepo: git, instanceWorkspace: (role) => join(instancesDir, role), ...access });
    let validationMs = 0;
    const started = performance.now();
    try {
      const { built, cycle } = await buildAndPromote({
        toolsmith: { goal, model: budget.model(request.model), repoDir: made.dir, settings: request.toolsmithSettings, ...access },
        instances,
        gate: () => ({ ...request.gateOptions, settings: request.gateSettings, git, ...access }),
        promotion: { context: (log) => promotionContext({ repo: git, log }), restart: false },
        onProgress: (progress) => {
          if (progress.type === "toolsmith" && progress.event.type === "validation-passed") validationMs = progress.event.durationMs;
        },
        signal: AbortSignal.timeout(600_000),
      });
      if (!built.ok || !cycle?.ok) throw new Error(`the bare cycle failed for "${goal}": ${built.ok ? cycle?.failure : built.failure}`);
    } finally {
      await instances.close();
      rmSync(instancesDir, { recursive: true, force: true });
    }
    bare.push({ ms: performance.now() - started, modelMs: budget.spent().modelMs, validationMs });
  }
}

// org grow: the same goals asked in sessions, one run with grow.autoPromote.
let grown: { wallMs: number; modelMs: number; builds: { ms: number; modelMs: number }[]; validations: number[] };
{
  using made = repo("org-bench-grow-");
  const dir = join(made.dir, ".org", "sessions");
  mkdirSync(dir, { recursive: true });
  // Seen more often the earlier it comes, so the run builds them in the same order as the bare cycle.
  goals.forEach((goal, index) => {
    const turns = Array.from({ length: goals.length - index }, (_, turn) =>
      JSON.stringify({ type: "turn-start", turnId: `g${index}-${turn}`, text: `we need a tool to ${goal}`, mode: "group", addressed: [], time }),
    );
    const id = `20261123-1015${String(index).padStart(2, "0")}-g${index}`;
    writeFileSync(join(dir, `${id}.jsonl`), sealedTranscriptText(dir, id, turns));
  });
  const validations: number[] = [];
  const made2 = growRequest({
    sandbox,
    workspaceDir: made.dir,
    repoDir: made.dir,
    config: { ...config, grow: { ...config.grow, autoPromote: true } },
    dryRun: false,
    maxTools: goals.length,
    command: "bench",
    onProgress: (progress) => {
      if (progress.type === "build" && progress.progress.type === "toolsmith" && progress.progress.event.type === "validation-passed")
        validations.push(progress.progress.event.durationMs);
    },
    signal: AbortSignal.timeout(600_000),
  });
  // Words the rules know, no embedder and no listener: the run's own cost beside the bare cycle's.
  const { embedder: _none, listener: _deaf, ...request } = made2;
  const { report } = await runGrow(request);
  if (report.summary.promoted !== goals.length)
    throw new Error(`org grow promoted ${report.summary.promoted} of ${goals.length}: ${report.builds.map((build) => build.failure).join("; ")}`);
  grown = {
    wallMs: report.budget.wallMs,
    modelMs: report.budget.modelMs,
    builds: report.builds.map((build) => ({ ms: build.durationMs, modelMs: build.modelMs })),
    validations,
  };
}
await server.stop();

const bareTotal = bare.reduce((sum, entry) => sum + entry.ms - entry.modelMs, 0);
const growPerTool = (grown.wallMs - grown.modelMs) / goals.length;
const barePerTool = bareTotal / goals.length;
console.log(`\nbuilding: ${goals.length} tools, the scripted toolsmith (its answers are instant; model time is taken out all the same)`);
console.log(
  `  org grow --once: ${seconds(growPerTool)} per promoted tool (${seconds(grown.wallMs)} in all, model ` +
    `${seconds(grown.modelMs)}); the bare cycle ${seconds(barePerTool)} per tool: ${(growPerTool / barePerTool).toFixed(2)}×`,
);
console.log(
  `  one generation (build, judge, promote), median: in org grow ` +
    `${seconds(median(grown.builds.map((build) => build.ms - build.modelMs)))}, bare ` +
    `${seconds(median(bare.map((entry) => entry.ms - entry.modelMs)))} (target ≤ 4 s on 2 cores)`,
);
console.log(
  `  the toolsmith's validation, median: in org grow ${ms(median(grown.validations))}, bare ` +
    `${ms(median(bare.map((entry) => entry.validationMs)))} (target ≤ 600 ms on 2 cores)`,
);
