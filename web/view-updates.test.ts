import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { GrowRun } from "../grow/grow-run.ts";
import { growRequest } from "../grow/grow-request.ts";
import { EMPTY_CURSOR, writeGrowState } from "../grow/grow-state.ts";
import type { Proposal } from "../grow/proposal.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandbox } from "../testing/test-sandbox.ts";
import { openUpdates } from "../testing/view-updates-stream.ts";
import { publishWorkspaceEvent, readWorkspaceEvents } from "../workspace-events/event-journal.ts";
import { ViewUpdates } from "./view-updates.ts";

const base = mkdtempSync(join(tmpdir(), "org-view-updates-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test("a view is told within one event of a change made by the real writer, and a reconnecting page gets what it missed", async () => {
  const workspaceDir = mkdtempSync(join(base, "w"));
  const checkoutDir = mkdtempSync(join(base, "c"));
  const updates = new ViewUpdates({ workspaceDir, checkoutDir, maxStreams: 4 });
  const page = await openUpdates(updates);
  expect(await page.next()).toBe(": listening");
  // grow's state written: the next frame is Growth's, with no other frame before it.
  writeGrowState(workspaceDir, { version: 1, cursor: EMPTY_CURSOR, proposals: [] }, mkdtempSync(join(base, "home")));
  expect(await page.view()).toBe("growth @1.0");
  // A gate's verdict in the checkout's stream: Candidates.
  publishWorkspaceEvent(checkoutDir, { type: "gate-finished", branch: "cand/20261129T120000Z", verdict: "pass" });
  expect(await page.view()).toBe("candidates @1.1");
  await page.close();
  expect(updates.streams).toBe(0);

  // Away: a fact saved and a promotion. Back with the last id it had, it is told both views at once.
  const { store } = MemoryStore.open(workspaceDir);
  store.save({ text: "the staging port is 6543", persona: "agent" });
  store.close();
  publishWorkspaceEvent(checkoutDir, { type: "main-promoted", branch: "cand/20261129T120000Z", tag: "promote/20261129T120100Z" });
  const back = await openUpdates(updates, { header: "1.1" });
  expect(await back.next()).toBe(": listening");
  expect(new Set([await back.view(), await back.view(), await back.view()])).toEqual(new Set(["memory @2.2", "tools @2.2", "candidates @2.2"]));
  await back.close();

  // Behind the rotation floor (a page that opens a new stream says where it was with `after`): every view, since what
  // changed is gone from the journal.
  for (let index = 0; index < 8; index += 1) publishWorkspaceEvent(workspaceDir, { type: "proposals-changed" }, { maxBytes: 400, keep: 2 });
  const late = await openUpdates(updates, { after: "1.2" });
  expect(await late.next()).toBe(": listening");
  const told = new Set<string>();
  for (let index = 0; index < 6; index += 1) told.add((await late.view()).split(" ")[0] ?? "");
  expect(told).toEqual(new Set(["changes", "tools", "candidates", "growth", "supervisor", "memory"]));
  await late.close();
  updates.close();
});

test("a candidate grow throws away unjudged (a build cut short) reaches an open Candidates view, told once", async () => {
  using repo = tempGitRepo("org-view-updates-grow-");
  // The half-made candidate a build left: its branch, one commit past main.
  const branch = "cand/20261129T120000Z";
  gitSync(repo.dir, ["checkout", "--quiet", "-b", branch]);
  gitSync(repo.dir, ["commit", "--quiet", "--allow-empty", "-m", "a build cut short"]);
  const commit = gitSync(repo.dir, ["rev-parse", "HEAD"]).trim();
  gitSync(repo.dir, ["checkout", "--quiet", "main"]);
  const at = new Date().toISOString();
  const proposal: Proposal = {
    id: "p0123456789a",
    goal: "count the vowels in a text",
    evidence: [],
    count: 1,
    sessions: 1,
    seenIn: [],
    sources: {},
    firstSeen: at,
    lastSeen: at,
    state: "building",
    kind: "build",
    goalFrom: "request",
    signals: {},
    attempts: 1,
    updatedAt: at,
    branch,
    commit,
  };
  const setup = { sandbox: testSandbox, workspaceDir: repo.dir, repoDir: repo.dir, dryRun: false, command: "view-updates.test" };
  const run = new GrowRun(growRequest({ ...setup, config: loadOrgConfig(join(repo.dir, "none.json"), {}), signal: AbortSignal.timeout(30_000) }));
  const updates = new ViewUpdates({ workspaceDir: repo.dir, checkoutDir: repo.dir, maxStreams: 4 });
  const page = await openUpdates(updates);
  expect(await page.next()).toBe(": listening");

  expect(await run.settleUnfinished([proposal], "a build cut short")).toEqual(["pending"]);
  expect(run.report.notes).toContain(`a build cut short left ${branch} for ${proposal.id} unjudged: it was removed`);
  expect(gitSync(repo.dir, ["branch", "--list", "cand/*"])).toBe("");
  expect(await page.view()).toBe("candidates @1");
  const removed = readWorkspaceEvents(repo.dir, 0).records.map((record) => record.event);
  expect(removed).toEqual([{ type: "candidate-removed", branch }]);
  await page.close();
  updates.close();
});
