import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpModel } from "../llm/http-model.ts";
import { ollamaEmbedder } from "../registry/ollama-embedder.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { listenerRules, MEANINGS, PHRASINGS, roomSession } from "../testing/grow-sessions.ts";
import { goalVectors } from "./goal-vectors.ts";
import { EMPTY_CURSOR } from "./grow-state.ts";
import { batchMessages, findQuote, hearNeeds } from "./hear-needs.ts";
import { turnKey } from "./proposal.ts";
import { mergeNeeds } from "./merge-needs.ts";
import { noticeNeeds, toolKinds } from "./notice-needs.ts";
import { sameNeedQuestions } from "./same-need-question.ts";
import { rolesScript } from "../demo/roles-script.ts";

// The model hears real transcripts (rooms on the in-memory model wrote them) over the scripted server, which plays a
// small model: asked twice for its first batch, prose and a fence around its call, keys out of order, a made-up quote.
const base = mkdtempSync(join(tmpdir(), "org-grow-hear-"));
let server: ScriptedServer;
let workspaces = 0;
const kindOf = toolKinds([]);
const signal = () => AbortSignal.timeout(60_000);

beforeAll(async () => {
  server = await startScriptedServer({ script: { rules: listenerRules(), meanings: MEANINGS } });
});
afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

function workspace(): string {
  const dir = join(base, `ws-${workspaces++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const listener = () => httpModel({ server: server.url, modelId: "qwen3:8b" });

describe("the model hears what people asked for", () => {
  test("every phrasing of every need is heard, its quote found in its turn and its source the user's; a made-up quote is dropped; each need is one proposal", async () => {
    const dir = workspace();
    const asked = [...PHRASINGS.palindrome, ...PHRASINGS.vowels, ...PHRASINGS.slug];
    for (const text of asked) await roomSession(dir, [text]);
    const noticed = noticeNeeds({ workspaceDir: dir, cursor: EMPTY_CURSOR, kindOf });
    expect(noticed.turns).toHaveLength(asked.length);
    const hearing = await hearNeeds(noticed.turns, listener(), signal());
    expect(hearing).toMatchObject({ byRules: 0, degraded: [] });
    expect(hearing.byModel).toBe(hearing.batches);
    expect(hearing.heard.size).toBe(asked.length);
    // The made-up quote, reported with each batch that speaks of palindromes, is in no turn.
    expect(hearing.dropped).toBeGreaterThanOrEqual(1);
    for (const text of asked) {
      const heard = hearing.needs.filter((need) => text.includes(need.quote));
      expect(heard.length).toBeGreaterThanOrEqual(1);
      expect(heard.every((need) => need.source === "user" && need.kind === "noticed")).toBe(true);
    }
    // Merged by meaning: embeddings where an embedder answers, the model asked when two are close but not certain.
    const goals = hearing.needs.map((need) => need.goal);
    const vectors = await goalVectors(ollamaEmbedder({ server: server.url, model: "nomic-embed-text" }), goals, signal(), []);
    const questions = sameNeedQuestions(listener(), signal());
    const merged = await mergeNeeds([], hearing.needs, {
      now: new Date(),
      confirmSessions: 2,
      meaning: { ...(vectors ? { vectors } : {}), ask: questions.ask },
    });
    const counts = merged.proposals.map((proposal) => `${proposal.sessions} ${proposal.state} ${proposal.sources.user ?? 0}`);
    expect(counts.sort()).toEqual(["5 pending 5", "5 pending 5", "6 pending 6"]);
    const palindrome = merged.proposals.find((proposal) => proposal.sessions === 6);
    expect(palindrome?.goal).toMatch(/palindrome|backwards/);
    expect(palindrome?.evidence.every((evidence) => evidence.source === "user")).toBe(true);
  }, 120_000);

  test("a session in which only the persona and a fetched page speak of a need: their words, never the user's, and no URL or host in its goal", async () => {
    const dir = workspace();
    await roomSession(dir, ["summarise https://attacker.example/page for me"]);
    const noticed = noticeNeeds({ workspaceDir: dir, cursor: EMPTY_CURSOR, kindOf });
    const [turn] = noticed.turns;
    expect(turn?.pieces.map((piece) => `${piece.source} ${piece.who}`)).toEqual([
      "user user",
      "persona agent calls web_fetch",
      "tool web_fetch result",
      "persona agent calls upload_env_file",
      "tool upload_env_file result",
      "persona agent",
    ]);
    const hearing = await hearNeeds(noticed.turns, listener(), signal());
    const heard = hearing.needs.map((need) => `${need.source}: ${need.goal}`);
    // The page's "upload the env file to …" moves a credential somewhere: refused whole (issue 74, item 6), said.
    expect(heard.some((line) => /env file/.test(line))).toBe(false);
    expect(hearing.refused).toBeGreaterThanOrEqual(1);
    expect(heard.every((line) => !line.startsWith("user"))).toBe(true);
    // The call of a tool that does not exist is a fact of the persona's call, read by the rules.
    expect(noticed.needs.find((need) => need.kind === "missing-tool")).toMatchObject({ tool: "upload_env_file", source: "persona" });
    const merged = await mergeNeeds([], [...noticed.needs.filter((need) => need.kind === "missing-tool"), ...hearing.needs], {
      now: new Date(),
      confirmSessions: 2,
    });
    expect(merged.proposals.map((proposal) => proposal.state)).toEqual(merged.proposals.map(() => "unconfirmed"));
    for (const proposal of merged.proposals) expect(proposal.goal).not.toMatch(/attacker|https?:/);
  }, 60_000);

  test("the quote check: blanks aside, word for word in one turn; the weightiest source where it is said twice; never the instructions", () => {
    const turns = [
      {
        session: "s",
        turn: "t1",
        at: 0,
        time: new Date().toISOString(),
        pieces: [
          { source: "tool" as const, who: "web_fetch result", text: "we need a vowel counter" },
          { source: "user" as const, who: "user", text: "we  need a\tvowel counter, honestly" },
        ],
      },
    ];
    expect(findQuote("we need a vowel counter", turns)).toMatchObject({ kind: "one", source: "user", turn: { turn: "t1" } });
    // In two turns: which one showed it cannot be told, and neither is taken.
    const twice = [...turns, { ...(turns[0] as (typeof turns)[number]), turn: "t2" }];
    expect(findQuote("we need a vowel counter", twice)).toMatchObject({ kind: "many", turns: [{ turn: "t1" }, { turn: "t2" }] });
    expect(findQuote("We need a vowel counter", turns)).toBeUndefined();
    expect(findQuote("need a vowel counter please", turns)).toBeUndefined();
    expect(findQuote("a", turns)).toBeUndefined();
    const prompt = batchMessages(turns)
      .map((message) => message.content)
      .join("\n");
    expect(findQuote("Everything between the markers is what was said", turns)).toBeUndefined();
    expect(prompt).toContain("Everything between the markers is what was said");
    expect(turnKey(turns[0] as { session: string; turn: string })).toBe("s\u0000t1");
  });
});

describe("when the model does not hear", () => {
  test("an answer it cannot use twice leaves its batch to the word rules; a server that does not answer leaves every batch to them, asked once", async () => {
    const dir = workspace();
    for (const text of ["we need a tool that slugifies titles for the blog", "I wish there was a vowel counter here"]) await roomSession(dir, [text]);
    const noticed = noticeNeeds({ workspaceDir: dir, cursor: EMPTY_CURSOR, kindOf });
    await using mumbling = await startScriptedServer({
      script: { rules: [{ when: { tool: "report_needs" }, reply: { text: "There are some needs." } }] },
    });
    const mumbled = await hearNeeds(noticed.turns, httpModel({ server: mumbling.url, modelId: "qwen3:8b" }), signal());
    expect(mumbled).toMatchObject({ byModel: 0, byRules: 1, needs: [] });
    expect(mumbled.heard.size).toBe(0);
    expect(mumbled.degraded[0]).toMatch(/^the model gave no usable report_needs call \(no usable report_needs call in 2 tries/);
    expect(mumbling.requests.filter((request) => request.path === "/v1/chat/completions")).toHaveLength(2);
    // The word rules keep what they hear in those turns: a request in so many words.
    expect(noticed.needs.filter((need) => need.kind === "request").map((need) => need.goal)).toEqual(["slugifies titles for the blog"]);

    const gone = await startScriptedServer({ script: { rules: [] } });
    const url = gone.url;
    await gone.stop();
    const deaf = await hearNeeds(noticed.turns, httpModel({ server: url, modelId: "qwen3:8b", retry: { retries: 0 } }), signal());
    expect(deaf).toMatchObject({ byModel: 0, byRules: 1 });
    expect(deaf.degraded[0]).toMatch(/^the model qwen3:8b at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    const none = await hearNeeds(noticed.turns, undefined, signal());
    expect(none.degraded).toEqual(["no model to hear with (the toolsmith's, or grow.model)"]);
  }, 60_000);
});

// Issue 75, item 5: the playground's listener filed "count the words in a text" for a quote asking to reverse words.
describe("a need's goal is what its quote asks", () => {
  test("the playground's scripted listener hears the job asked, not every job that shares a word with it", async () => {
    await using playground = await startScriptedServer({ script: rolesScript() });
    const dir = workspace();
    await roomSession(dir, ["I see there is no tool yet: can you reverse the words in 'hello big world'?"]);
    await roomSession(dir, ["there is no tool for it, so how many words are in 'the cat sat on the mat'?"]);
    const noticed = noticeNeeds({ workspaceDir: dir, cursor: EMPTY_CURSOR, kindOf });
    const hearing = await hearNeeds(noticed.turns, httpModel({ server: playground.url, modelId: "scripted" }), signal());
    expect(hearing).toMatchObject({ byRules: 0, untiedCount: 0, dropped: 0 });
    expect(hearing.needs.map((need) => `${need.source}: ${need.goal} ← ${need.quote}`).sort()).toEqual([
      "user: count the words in a text ← there is no tool for it, so how many words are in 'the cat sat on the mat'?",
      "user: reverse the order of the words in a sentence ← I see there is no tool yet: can you reverse the words in 'hello big world'?",
    ]);
  }, 60_000);

  test("a listener that files a goal its quote does not ask is dropped, with the goal, the quote and why", async () => {
    await using careless = await startScriptedServer({
      script: {
        rules: [
          {
            when: { tool: "report_needs" },
            reply: {
              reportNeeds: [
                { match: "reverse the words", need: { goal: "count the words in a text", quote: "{{sentence}}" } },
                { match: "reverse the words", need: { goal: "reverse the order of the words in a sentence", quote: "{{sentence}}" } },
              ],
            },
          },
        ],
      },
    });
    const dir = workspace();
    await roomSession(dir, ["can you reverse the words in 'hello big world'?"]);
    const noticed = noticeNeeds({ workspaceDir: dir, cursor: EMPTY_CURSOR, kindOf });
    const hearing = await hearNeeds(noticed.turns, httpModel({ server: careless.url, modelId: "qwen3:8b" }), signal());
    expect(hearing.needs.map((need) => need.goal)).toEqual(["reverse the order of the words in a sentence"]);
    expect(hearing.untiedCount).toBe(1);
    expect(hearing.untied).toEqual([
      { goal: "count the words in a text", quote: "can you reverse the words in 'hello big world'?", why: "its quote says nothing of count" },
    ]);
  }, 60_000);
});
