// The web room's views in Chromium, through `org web --supervise` run from a git clone of org (its candidates and
// promotions) as a user starts it: a write-view change accepted then undone, a candidate promoted and rolled back and
// its gate started, a proposal rejected, an incident appearing live when the model server stops, memory search; each
// view's screenshot saved (issue 53). One browser and one org web for all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { EMPTY_CURSOR, writeGrowState } from "../grow/grow-state.ts";
import { loadScript } from "../scripted-server/script.ts";
import { screenshotsDir, startWebRoom, type WebRoomFixture } from "../testing/web-room-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

const NOW = new Date().toISOString();

/** The toolsmith's scripted model (the demo's): it builds word_count when asked for a tool that counts words. */
const TOOLSMITH = await loadScript(join(import.meta.dir, "..", "demo", "toolsmith-script.json"));

const SCRIPT = {
  rules: [
    {
      when: { persona: "agent", lastMessage: "write the notes" },
      reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo 'staging port is 5433' > notes.txt" } }] },
    },
    { when: { persona: "agent", lastTool: "sh" }, reply: { text: "I wrote the notes about the staging port." } },
    // Only once word_count is offered to the agent (promoted) does it call it.
    {
      when: { persona: "agent", lastMessage: "with the new tool", tool: "word_count" },
      reply: { toolCalls: [{ name: "word_count", arguments: { text: "the gate promoted it" } }] },
    },
    { when: { persona: "agent", lastTool: "word_count" }, reply: { text: "word_count, the tool the toolsmith built, counts 4 words in it." } },
    ...TOOLSMITH.rules,
  ],
  fallback: { text: "ok" },
};

const CONFIG = {
  personas: [
    { name: "agent", kind: "agent", tools: { sh: "allow" } },
    { name: "toolsmith", kind: "toolsmith" },
  ],
  // The write view as the README's tour turns it on: org web asks about a change on the page (serve.tools not set).
  sandbox: { workspace: "write" },
  // Every fix waits for a word (none is applied by the supervisor itself), so the Supervisor view offers Apply.
  supervise: { every: "1s", autoFix: [] },
};

let room: WebRoomFixture;
let page: Page;

beforeAll(async () => {
  room = await startWebRoom({
    script: SCRIPT,
    config: CONFIG,
    checkout: "clone",
    args: ["--supervise"],
    // No tmux window of this session exists: the supervisor's current check is off, nothing is restarted.
    env: { ORG_TMUX_SESSION: `org-web-views-${process.pid}` },
  });
  ({ page } = await room.open());
  page.on("dialog", (dialog) => void dialog.accept());
}, 180_000);

afterAll(async () => {
  await room?.[Symbol.asyncDispose]();
});

async function say(text: string): Promise<void> {
  await page.getByText(/· live ·/).waitFor();
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

async function view(name: string): Promise<void> {
  await page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, level: 1 }).waitFor();
}

/** The page's buttons on screen, as page code (this file is typed without the DOM's names). */
const VISIBLE_BUTTONS = '[...document.querySelectorAll("button")].filter((button) => button.offsetParent !== null)';

const shot = (name: string) => page.screenshot({ path: join(screenshotsDir(), `${name}.png`), fullPage: true });

describe("the web room's views in Chromium", () => {
  test("Changes: a change waits, is accepted from the view, then undone; the next is rejected; the file follows", async () => {
    await page.getByText(/· live ·/).waitFor();
    await page.getByRole("textbox", { name: "Message" }).fill("@agent write the notes please");
    await page.getByRole("button", { name: "Send" }).click();
    await view("Changes");
    const waiting = page.getByRole("article", { name: /change by agent, waiting/ });
    await waiting.waitFor({ timeout: 60_000 });
    expect(await waiting.textContent()).toContain("staging port is 5433");
    await shot("changes");
    await waiting.getByRole("button", { name: "Accept" }).click();
    await waitUntil("the change applied", () => existsSync(join(room.workspace, "notes.txt")), 30_000);
    expect(readFileSync(join(room.workspace, "notes.txt"), "utf8")).toBe("staging port is 5433\n");
    const undo = page.getByRole("button", { name: "Undo" });
    await undo.waitFor({ timeout: 20_000 });
    await undo.click();
    await waitUntil("the change undone", () => !existsSync(join(room.workspace, "notes.txt")), 20_000);
    await page.getByText(/undone 20/).waitFor({ timeout: 20_000 });

    // Asked again, and rejected this time: the question leaves the view and the workspace stays as it is.
    await view("Room");
    await say("@agent write the notes please");
    await view("Changes");
    await waiting.getByRole("button", { name: "Reject" }).click({ timeout: 60_000 });
    await page.getByText("rejected", { exact: true }).waitFor({ timeout: 20_000 });
    await waiting.first().waitFor({ state: "detached", timeout: 20_000 });
    await view("Room");
    await page.getByRole("region", { name: "agent" }).getByText("I wrote the notes about the staging port.").waitFor({ timeout: 60_000 });
    expect(existsSync(join(room.workspace, "notes.txt"))).toBe(false);
  }, 120_000);

  test("Memory: the room's words are found; a session forgotten elsewhere leaves the results by itself", async () => {
    await view("Memory");
    // Before any search, the view says what memory holds and how it fills.
    await page.getByText(/^Every session's messages, tool calls and short tool results, indexed as the transcript is written/).waitFor();
    await page.getByRole("searchbox", { name: "Search memory" }).fill("staging port");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/\d+ results? \(/).waitFor();
    expect(await page.locator(".hits").textContent()).toContain("staging");
    await shot("memory");
    // Forgotten by another client (the CLI, a phone): the results follow without a new search.
    const headers = { authorization: `Bearer ${new URL(room.loginUrl).searchParams.get("token") ?? ""}` };
    const searched = await page.request.get(`${room.origin}/v1/memory/search?q=staging%20port`, { headers });
    const found = (await searched.json()) as { hits: { sessionId: string | null }[] };
    const session = found.hits.find((hit) => hit.sessionId !== null)?.sessionId ?? "";
    expect((await page.request.post(`${room.origin}/v1/memory/forget`, { data: { session }, headers })).status()).toBe(200);
    expect(session).not.toBe("");
    // Playwright's own wait looks in the page, not a round trip from here every few milliseconds.
    await page.locator(".hits").filter({ hasText: session }).waitFor({ state: "detached", timeout: 20_000 });
  }, 60_000);

  test("Growth: a proposal with its evidence, rejected from the view, then accepted", async () => {
    writeGrowState(room.workspace, {
      version: 1,
      cursor: EMPTY_CURSOR,
      proposals: [
        {
          id: "p0123456789ab",
          goal: "convert CSV files to JSON",
          evidence: [{ session: "s1", turn: "t1", quote: "can you turn this CSV into JSON?", source: "user" }],
          count: 2,
          sessions: 1,
          seenIn: [],
          sources: { user: 2 },
          firstSeen: NOW,
          lastSeen: NOW,
          state: "pending",
          kind: "build",
          goalFrom: "missing-tool",
          signals: { "missing-tool": 2 },
          attempts: 0,
          updatedAt: NOW,
        },
      ],
    });
    await view("Growth");
    const proposal = page.getByRole("article", { name: "proposal p0123456789ab" });
    await proposal.waitFor({ timeout: 20_000 });
    expect(await proposal.textContent()).toContain("user “can you turn this CSV into JSON?”");
    await shot("growth");
    await proposal.getByRole("button", { name: "Reject" }).click();
    await page.getByText(/rejected p0123456789ab/).waitFor();
    // The view follows the state file on its own; the answer above can come first.
    await proposal.getByText(/· rejected ·/).waitFor({ timeout: 20_000 });
    // A person's word changes again: accepted, it waits to be built by the next run.
    await proposal.getByRole("button", { name: "Accept" }).click();
    await page.getByText(/accepted p0123456789ab \(was rejected\)/).waitFor();
    await proposal.getByText(/· pending ·/).waitFor({ timeout: 20_000 });
  }, 60_000);

  test("Candidates: the toolsmith builds a tool in the room; it is gated, promoted, offered to the agent, rolled back", async () => {
    await view("Room");
    await say("/mode direct:toolsmith");
    await page.getByText("mode direct:toolsmith").first().waitFor();
    await say("I need a tool to count the words in a text.");
    // The candidate appears in Candidates by itself once the toolsmith's job put it on its branch.
    await view("Candidates");
    const candidate = page.getByRole("article", { name: /^candidate cand\// });
    await candidate.waitFor({ timeout: 180_000 });
    expect(await candidate.textContent()).toContain("word_count");
    await candidate.getByRole("button", { name: "Run gate" }).click();
    // The gate's stages come as they end, then its verdict.
    const gate = candidate.getByRole("region", { name: /^gate run on cand\// });
    await gate.getByText(/Gate done · verdict pass/).waitFor({ timeout: 240_000 });
    const stages = (await gate.getByRole("listitem").allTextContents()).map((stage) => stage.split(":")[0]);
    expect(stages).toEqual(["current", "candidate", "fitness"]);
    await shot("candidates");
    await candidate.getByRole("button", { name: "Promote" }).click();
    await page.getByText(/promoted cand\/\S+ as [0-9a-f]{12} \(tag promote\//).waitFor({ timeout: 60_000 });
    const promotion = page.getByRole("listitem").filter({ hasText: /^promote\// });
    await promotion.getByText("word_count").waitFor({ timeout: 20_000 });
    await view("Tools");
    await page.getByRole("article", { name: "tool word_count" }).getByText("offered to agent (asks first)").waitFor();
    // The open room says so, and the agent is offered it: asked to use it, it calls it (approved here).
    await view("Room");
    await page.getByText("new tool: word_count (asks first)").waitFor({ timeout: 20_000 });
    await say("/mode direct:agent");
    await say('Count the words in "the gate promoted it" with the new tool.');
    const agent = page.getByRole("region", { name: "agent" });
    await agent.getByRole("button", { name: "Approve" }).click({ timeout: 60_000 });
    await agent.getByText("counts 4 words").waitFor({ timeout: 60_000 });
    await view("Candidates");
    await promotion.getByRole("button", { name: "Roll back" }).click();
    await page
      .getByText(/rolled back promote\//)
      .first()
      .waitFor({ timeout: 60_000 });
    await promotion.getByText("rolled back").waitFor();
    await view("Room");
    await page.getByText("tool gone: word_count (rolled back)").waitFor({ timeout: 20_000 });

    // Rolled back, it cannot be promoted again: the view offers what can be done, a new candidate from today's main.
    await view("Candidates");
    const rolledBack = page.getByRole("article", { name: /^candidate cand\// }).filter({ hasText: "rolled-back" });
    await rolledBack.getByRole("button", { name: "Rebase" }).waitFor({ timeout: 20_000 });
    expect(await rolledBack.getByRole("button", { name: "Promote" }).count()).toBe(0);
    await rolledBack.getByRole("button", { name: "Rebase" }).click();
    await page.getByText(/^made cand\/\S+ \([0-9a-f]{12}\) from main [0-9a-f]{12} with word_count from cand\//).waitFor({ timeout: 30_000 });
    const fresh = page.getByRole("article", { name: /^candidate cand\// }).filter({ hasText: "untested" });
    await fresh.getByRole("button", { name: "Promote" }).waitFor({ timeout: 20_000 });
    expect(await fresh.textContent()).toContain("word_count");
  }, 600_000);

  test("Tools: each tool's figures and a chart of calls and failures per day with a text alternative", async () => {
    await view("Tools");
    // The agent called word_count once (in the Candidates test); rolled back since, it keeps its figures.
    const tool = page.getByRole("article", { name: "tool word_count" });
    await tool.waitFor({ timeout: 20_000 });
    expect(await tool.textContent()).toContain("1 call · 1 ok · 0 failed · success 100.0 %");
    const chart = tool.getByRole("img", { name: /^word_count, calls and failures per day over 14 days: / });
    expect(await chart.getAttribute("aria-label")).toMatch(/: 1 calls, 0 failed$/);
    expect(await chart.locator("rect.bar-calls").count()).toBe(14);
    await shot("tools");
  }, 30_000);

  test("Supervisor: the model server stops and an incident appears without a reload; its fix applied from the view; Mute silences it", async () => {
    await view("Supervisor");
    await room.stopModel();
    const incident = page.getByRole("article", { name: /^incident model server / }).first();
    await incident.waitFor({ timeout: 60_000 });
    expect((await incident.textContent()) ?? "").toContain("model-server");
    // Its fix (pause unattended grow runs) waits: Apply runs it, as `org supervise apply` does.
    await incident.getByText(/fix \S+: pause-grow grow — proposed/).waitFor({ timeout: 30_000 });
    await shot("supervisor");
    await incident.getByRole("button", { name: "Apply" }).click();
    await page
      .getByText(/pause-grow grow: (applied|verified) — /)
      .first()
      .waitFor({ timeout: 30_000 });
    await incident.getByText(/fix \S+: pause-grow grow — (applied|verified)/).waitFor({ timeout: 30_000 });
    expect(await incident.getByRole("button", { name: "Apply" }).count()).toBe(0);
    await incident.getByRole("button", { name: "Mute" }).click();
    await page.getByText(/muted /).waitFor({ timeout: 20_000 });
  }, 120_000);

  test("keyboard only: in every view Tab reaches every button, and a link or button answers Enter", async () => {
    for (const name of ["Room", "Changes", "Tools", "Candidates", "Growth", "Supervisor", "Memory"]) {
      await view(name);
      await page.locator("body").focus();
      // Page code as strings: this file is typed without the DOM's names.
      // The page notes each button focus reaches as the keys move it; asked after as many presses as buttons are left.
      const buttons = (await page.evaluate(
        `window.reachedButtons = new Set(); document.addEventListener("focusin", () => { ` +
          `const index = ${VISIBLE_BUTTONS}.indexOf(document.activeElement); if (index >= 0) window.reachedButtons.add(index); }); ` +
          `${VISIBLE_BUTTONS}.length`,
      )) as number;
      let reached = 0;
      for (let press = 0; press < 300 && reached < buttons; ) {
        for (const end = press + buttons - reached; press < end; press += 1) await page.keyboard.press("Tab");
        reached = (await page.evaluate("window.reachedButtons.size")) as number;
      }
      expect(`${name}: ${reached} of ${buttons} buttons`).toBe(`${name}: ${buttons} of ${buttons} buttons`);
    }
    // The navigation by keyboard alone: Tab to a link, Enter follows it.
    await page.locator("body").focus();
    for (let press = 0; press < 50; press += 1) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate("document.activeElement?.textContent")) === "Growth") break;
    }
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Growth", level: 1 }).waitFor({ timeout: 10_000 });
  }, 120_000);
});
