// The web room's views in Chromium, through `org web --supervise` run from a git clone of org (its candidates and
// promotions) as a user starts it: a write-view change accepted then undone, a candidate promoted and rolled back and
// its gate started, a proposal rejected, an incident appearing live when the model server stops, memory search; each
// view's screenshot saved (issue 53). One browser and one org web for all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { EMPTY_CURSOR, writeGrowState } from "../grow/grow-state.ts";
import { makeCandidate, writePassingReport, writeTool } from "../testing/promotion-fixture.ts";
import { screenshotsDir, startWebRoom, type WebRoomFixture } from "../testing/web-room-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

const BRANCH = "cand/20261126T120000Z";
const NOW = new Date().toISOString();

const SCRIPT = {
  rules: [
    {
      when: { persona: "agent", lastMessage: "write the notes" },
      reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo 'staging port is 5433' > notes.txt" } }] },
    },
    { when: { persona: "agent", lastTool: "sh" }, reply: { text: "I wrote the notes about the staging port." } },
  ],
  fallback: { text: "ok" },
};

const CONFIG = {
  personas: [{ name: "agent", kind: "agent", tools: { sh: "allow" } }],
  sandbox: { workspace: "write", workspaceWrite: "ask" },
  serve: { tools: { workspace_write: "ask" } },
  supervise: { every: "1s" },
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

async function view(name: string): Promise<void> {
  await page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
  await page.getByRole("heading", { name, level: 1 }).waitFor();
}

const shot = (name: string) => page.screenshot({ path: join(screenshotsDir(), `${name}.png`), fullPage: true });

describe("the web room's views in Chromium", () => {
  test("Changes: a change waits, is accepted from the view, then undone; the file follows", async () => {
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
  }, 120_000);

  test("Memory: the room's words are found", async () => {
    await view("Memory");
    await page.getByRole("searchbox", { name: "Search memory" }).fill("staging port");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/\d+ results? \(/).waitFor();
    expect(await page.locator(".hits").textContent()).toContain("staging");
    await shot("memory");
  }, 60_000);

  test("Growth: a proposal with its evidence, rejected from the view", async () => {
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
  }, 60_000);

  test("Candidates: a candidate promoted, then rolled back, each asked first; its gate started", async () => {
    const commit = makeCandidate(room.checkoutDir, BRANCH, (worktree) => writeTool(worktree, "shout", "v1"));
    writePassingReport(room.checkoutDir, commit, BRANCH);
    await view("Candidates");
    const candidate = page.getByRole("article", { name: `candidate ${BRANCH}` });
    await candidate.waitFor({ timeout: 20_000 });
    expect(await candidate.textContent()).toContain("shout");
    await candidate.getByRole("button", { name: "Promote" }).click();
    await page
      .getByText(/promoted cand\/20261126T120000Z|merged/)
      .first()
      .waitFor({ timeout: 60_000 });
    const rollBack = page.getByRole("button", { name: "Roll back" });
    await rollBack.waitFor({ timeout: 20_000 });
    await shot("candidates");
    await rollBack.click();
    await page.getByText(/rolled back promote\//).waitFor({ timeout: 60_000 });
    await page.getByText("rolled back", { exact: false }).first().waitFor();
    await candidate.getByRole("button", { name: "Run gate" }).click();
    await page.getByRole("region", { name: `gate run on ${BRANCH}` }).waitFor({ timeout: 20_000 });
  }, 180_000);

  test("Tools: each promoted tool's figures and a chart with a text alternative", async () => {
    await view("Tools");
    await page.getByRole("heading", { name: "Tools", level: 1 }).waitFor();
    await shot("tools");
  }, 30_000);

  test("Supervisor: the model server stops and an incident appears without a reload; Mute silences it", async () => {
    await view("Supervisor");
    await room.stopModel();
    const incident = page.getByRole("article", { name: /incident/ }).first();
    await incident.waitFor({ timeout: 60_000 });
    expect((await incident.textContent()) ?? "").toContain("model-server");
    await shot("supervisor");
    await incident.getByRole("button", { name: "Mute" }).click();
    await page.getByText(/muted /).waitFor({ timeout: 20_000 });
  }, 120_000);
});
