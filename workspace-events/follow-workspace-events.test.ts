import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "../testing/wait-until.ts";
import { eventJournalPath, publishWorkspaceEvent } from "./event-journal.ts";
import { followWorkspaceEvents } from "./follow-workspace-events.ts";
import { JournalWatch } from "./journal-watch.ts";
import { networkFileSystemNamed } from "./network-file-system.ts";

const base = mkdtempSync(join(tmpdir(), "org-follow-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const folder = () => mkdtempSync(join(base, "w"));
// Longer than any test here runs: what a follower hears, it heard from the watch, never from a look on a clock.
const NEVER = 3_600_000;

test("a journal rotated (a new file renamed onto it) is heard through the watch alone, with no event lost", async () => {
  const dir = folder();
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  const heard: string[] = [];
  const follower = followWorkspaceEvents(dir, {
    recheckMs: NEVER,
    onEvents: (records) => heard.push(...records.map((record) => String(record.seq))),
    onResync: (last) => heard.push(`resync ${last}`),
  });
  const bounds = { maxBytes: 600, keep: 3 };
  let size = 0;
  let rotations = 0;
  for (let seq = 2; seq <= 13; seq += 1) {
    publishWorkspaceEvent(dir, { type: "tool-called", tool: `tool_${seq}` }, bounds);
    const now = statSync(eventJournalPath(dir)).size;
    if (now < size) rotations += 1;
    size = now;
    await waitUntil(`the follower heard event ${seq}`, () => follower.last === seq, 5_000);
  }
  follower.stop();
  // Rotated more than once, and each event heard once, in order, with no place lost.
  expect(rotations).toBeGreaterThan(1);
  expect(heard).toEqual(Array.from({ length: 12 }, (_, index) => String(index + 2)));
});

test("a follower started before .org exists makes none, hears the journal once it is made, and again when made anew", async () => {
  const dir = folder();
  const heard: string[] = [];
  const follower = followWorkspaceEvents(dir, {
    recheckMs: NEVER,
    onEvents: (records) => heard.push(...records.map((record) => String(record.seq))),
    onResync: (last) => heard.push(`resync ${last}`),
  });
  expect(existsSync(join(dir, ".org"))).toBe(false);
  for (let index = 0; index < 3; index += 1) publishWorkspaceEvent(dir, { type: "proposals-changed" });
  await waitUntil("the follower heard the first journal", () => follower.last === 3, 5_000);
  // Removed and made again (a user's `rm -rf .org`): the watch on the old folder is gone; the new one is watched.
  rmSync(join(dir, ".org"), { recursive: true });
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  await waitUntil("the follower heard the journal start over", () => heard.includes("resync 1"), 5_000);
  publishWorkspaceEvent(dir, { type: "memory-changed", what: "fact-saved" });
  await waitUntil("the follower heard the new journal's next event", () => follower.last === 2, 5_000);
  follower.stop();
  expect(heard).toEqual(["1", "2", "3", "resync 1", "2"]);
});

test("where the folder cannot be watched (or is gone), the follower looks every recheckMs instead; where it can, no look runs", async () => {
  const missing = join(folder(), "not-yet");
  const looking = new JournalWatch(missing, () => {}, NEVER);
  expect(looking.state).toBe("looking");
  expect(looking.lookingBecause).toContain("could not be watched (ENOENT)");
  looking.stop();
  const watching = new JournalWatch(folder(), () => {}, NEVER);
  expect([watching.state, watching.lookingBecause]).toEqual(["watching", undefined]);
  watching.stop();
  expect(watching.state).toBe("stopped");
  // A workspace's folder removed under its watch (the watch is left on a folder no longer there): a look instead.
  const removed = folder();
  const orphaned = new JournalWatch(removed, () => {}, NEVER);
  rmSync(removed, { recursive: true });
  await waitUntil("the watch fell back to a look", () => orphaned.state === "looking", 5_000);
  expect(orphaned.lookingBecause).toContain("was moved or removed");
  orphaned.stop();

  const seen: number[] = [];
  const follower = followWorkspaceEvents(missing, { recheckMs: 20, onEvents: (records) => seen.push(...records.map((record) => record.seq)) });
  publishWorkspaceEvent(missing, { type: "proposals-changed" });
  publishWorkspaceEvent(missing, { type: "proposals-changed" });
  await waitUntil("the look found both events", () => seen.length === 2, 5_000);
  follower.stop();
  expect(seen).toEqual([1, 2]);
});

test("a network filesystem, whose watch misses other machines' writes, is known by its statfs type; a local one is not", () => {
  expect(networkFileSystemNamed(0x6969)).toBe("nfs");
  // statfs may hand a magic number above 2^31 over as a negative one.
  expect(networkFileSystemNamed(0xff534d42 | 0)).toBe("cifs");
  expect(networkFileSystemNamed(0x01021997)).toBe("9p");
  expect(networkFileSystemNamed(0x65735546)).toBe("fuse");
  for (const local of [0xef53, 0x01021994, 0x9123683e, 0x58465342, 0x794c7630]) expect(networkFileSystemNamed(local)).toBeUndefined();
});
