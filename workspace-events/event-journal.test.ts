import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "../testing/wait-until.ts";
import { eventJournalPath, publishWorkspaceEvent, readWorkspaceEvents } from "./event-journal.ts";
import { followWorkspaceEvents } from "./follow-workspace-events.ts";
import type { WorkspaceEventRecord } from "./workspace-event.ts";

const base = mkdtempSync(join(tmpdir(), "org-events-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const folder = () => mkdtempSync(join(base, "w"));

test("a reader resuming from a sequence number gets exactly what it missed, in order", () => {
  const dir = folder();
  for (const tool of ["a_tool", "b_tool", "c_tool", "d_tool"]) publishWorkspaceEvent(dir, { type: "tool-called", tool });
  const read = readWorkspaceEvents(dir, 2);
  expect(read.resync).toBe(false);
  expect(read.records.map((record) => [record.seq, record.event.type === "tool-called" && record.event.tool])).toEqual([
    [3, "c_tool"],
    [4, "d_tool"],
  ]);
  // The follower started from the same place is handed the same, then what comes next.
  const seen: number[] = [];
  const follower = followWorkspaceEvents(dir, { after: 2, onEvents: (records) => seen.push(...records.map((record) => record.seq)) });
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  follower.check();
  follower.stop();
  expect(seen).toEqual([3, 4, 5]);
});

test("a reader behind the rotation floor is told to re-read state; one at the floor is not", () => {
  const dir = folder();
  const bounds = { maxBytes: 600, keep: 3 };
  for (let index = 0; index < 12; index += 1) publishWorkspaceEvent(dir, { type: "tool-called", tool: `tool_${index}` }, bounds);
  const now = readWorkspaceEvents(dir, 0);
  expect(now.last).toBe(12);
  expect(now.floor).toBeGreaterThan(0);
  expect(now.resync).toBe(true);
  expect(readFileSync(eventJournalPath(dir), "utf8").length).toBeLessThanOrEqual(600);
  expect(readWorkspaceEvents(dir, now.floor).resync).toBe(false);
  // A follower behind the floor hears the resync first, and then the events still kept.
  const heard: string[] = [];
  const follower = followWorkspaceEvents(dir, {
    after: 1,
    onResync: (last) => heard.push(`resync ${last}`),
    onEvents: (records) => heard.push(...records.map((record) => String(record.seq))),
  });
  follower.stop();
  expect(heard[0]).toBe("resync 12");
  expect(heard.at(-1)).toBe("12");
  // A journal that started over (removed) puts a reader ahead of it back too.
  rmSync(eventJournalPath(dir));
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  expect(readWorkspaceEvents(dir, 12).resync).toBe(true);
});

test("a line that does not parse is skipped and counted; the reader and the next writer go on", () => {
  const dir = folder();
  publishWorkspaceEvent(dir, { type: "memory-changed", what: "fact-saved" });
  const skipped: number[] = [];
  const seen: WorkspaceEventRecord[] = [];
  const follower = followWorkspaceEvents(dir, { onEvents: (records) => seen.push(...records), onSkipped: (count) => skipped.push(count) });
  appendFileSync(
    eventJournalPath(dir),
    ["not json {", '{"seq":2,"at":"x","event":{"type":"rm -rf"}}', '{"__proto__":{"seq":9}}', '{"seq":-1}', ""].join("\n"),
  );
  follower.check();
  expect(skipped).toEqual([4]);
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 2 });
  follower.check();
  follower.stop();
  expect(seen.map((record) => [record.seq, record.event.type])).toEqual([[2, "proposals-changed"]]);
  // An event is checked before it is written: nothing but the union's shapes reaches the file.
  expect(publishWorkspaceEvent(dir, { type: "tool-called", tool: "" }).published).toBe(false);
});

test("two processes writing at once keep sequence numbers unique and increasing; a follower here sees each", async () => {
  const dir = folder();
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  const seen: number[] = [];
  const follower = followWorkspaceEvents(dir, { onEvents: (records) => seen.push(...records.map((record) => record.seq)) });
  const journal = join(import.meta.dir, "event-journal.ts");
  const writer = (name: string) =>
    Bun.spawn(
      [
        process.execPath,
        "-e",
        `const { publishWorkspaceEvent } = await import(${JSON.stringify(journal)});
         for (let i = 0; i < 60; i += 1) {
           const told = publishWorkspaceEvent(${JSON.stringify(dir)}, { type: "tool-called", tool: "${name}_" + i });
           if (!told.published) process.exit(3);
         }`,
      ],
      { stdout: "ignore", stderr: "inherit" },
    );
  const children = [writer("left"), writer("right")];
  expect(await Promise.all(children.map((child) => child.exited))).toEqual([0, 0]);
  const { records, skipped } = readWorkspaceEvents(dir, 0);
  expect(skipped).toBe(0);
  expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 121 }, (_, index) => index + 1));
  // Each writer's own events stay in its order.
  for (const name of ["left", "right"]) {
    const own = records.flatMap((record) => (record.event.type === "tool-called" && record.event.tool.startsWith(name) ? [record.event.tool] : []));
    expect(own).toEqual(Array.from({ length: 60 }, (_, index) => `${name}_${index}`));
  }
  // Seen here through the watch, without reading any state.
  await waitUntil("the follower saw all 120", () => seen.length === 120, 10_000);
  follower.stop();
  expect(seen).toEqual(Array.from({ length: 120 }, (_, index) => index + 2));
});

test("a lock left by a writer that died is taken over; the event is published", () => {
  const dir = mkdtempSync(join(base, "w"));
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  // A pid no process has (above the kernel's pid_max), as `kill -9` mid-append would leave it.
  writeFileSync(`${eventJournalPath(dir)}.lock`, JSON.stringify({ pid: 2 ** 22 + 1, since: "", command: "publish a workspace event" }));
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 2 });
  expect(existsSync(`${eventJournalPath(dir)}.lock`)).toBe(false);
});

test("a workspace whose .org is a link gets nothing written through it", () => {
  const dir = mkdtempSync(join(base, "w"));
  const elsewhere = mkdtempSync(join(base, "elsewhere"));
  symlinkSync(elsewhere, join(dir, ".org"));
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" }).published).toBe(false);
  expect(readdirSync(elsewhere)).toEqual([]);
});

// A model may have written anything at the journal's paths: none of it may hang, flood memory or stop a writer.

test("a FIFO at the journal or at its lock neither hangs a writer nor a reader", () => {
  const dir = folder();
  mkdirSync(join(dir, ".org"));
  execFileSync("mkfifo", [eventJournalPath(dir)]);
  const refused = publishWorkspaceEvent(dir, { type: "proposals-changed" });
  expect(refused.published).toBe(false);
  if (!refused.published) expect(refused.reason).toContain("not a regular file");
  expect(readWorkspaceEvents(dir, 0).records).toEqual([]);
  const follower = followWorkspaceEvents(dir, { after: 0, onEvents: () => {} });
  follower.check();
  follower.stop();
  rmSync(eventJournalPath(dir));
  execFileSync("mkfifo", [`${eventJournalPath(dir)}.lock`]);
  utimesSync(`${eventJournalPath(dir)}.lock`, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000));
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 1 });
});

test("a folder at the lock is moved aside, not waited on at every publish", () => {
  const dir = folder();
  mkdirSync(join(`${eventJournalPath(dir)}.lock`, "inner"), { recursive: true });
  utimesSync(`${eventJournalPath(dir)}.lock`, new Date(Date.now() - 5_000), new Date(Date.now() - 5_000));
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 1 });
  expect(readdirSync(join(dir, ".org")).filter((name) => name.includes(".lock"))).toEqual([]);
});

test("a journal planted with one huge line is read in a bounded slice and healed by the next writer", () => {
  const dir = folder();
  mkdirSync(join(dir, ".org"));
  // Sparse: 64 MiB of size, no newline, no disk.
  const fd = openSync(eventJournalPath(dir), "w");
  ftruncateSync(fd, 64 * 1024 * 1024);
  closeSync(fd);
  expect(readWorkspaceEvents(dir, 0).records).toEqual([]);
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 1 });
  expect(statSync(eventJournalPath(dir)).size).toBeLessThan(1024);
});

test("a floor or a sequence number past the safe integers is not taken; sequence numbers stay exact", () => {
  const dir = folder();
  mkdirSync(join(dir, ".org"));
  writeFileSync(eventJournalPath(dir), `{"floor":1e300}\n{"seq":9007199254740993,"at":"x","event":{"type":"proposals-changed"}}\n`);
  const read = readWorkspaceEvents(dir, 0);
  expect(read.floor).toBe(0);
  expect(read.skipped).toBe(2);
  const first = publishWorkspaceEvent(dir, { type: "proposals-changed" });
  const second = publishWorkspaceEvent(dir, { type: "proposals-changed" });
  expect(first.published && second.published && second.seq - first.seq).toBe(1);
});

test("a journal that ends in half a line (planted, or a writer killed mid-write) loses no later event to it", () => {
  const dir = folder();
  publishWorkspaceEvent(dir, { type: "proposals-changed" });
  appendFileSync(eventJournalPath(dir), '{"seq":2,"at":"x","ev');
  expect(publishWorkspaceEvent(dir, { type: "tool-called", tool: "after_the_tear" })).toEqual({ published: true, seq: 2 });
  const read = readWorkspaceEvents(dir, 1);
  expect(read.records.map((record) => record.event.type === "tool-called" && record.event.tool)).toEqual(["after_the_tear"]);
  expect(read.skipped).toBe(1);
});

test("a lock naming a live process but dated in the future is taken over, not waited on for good", () => {
  const dir = folder();
  mkdirSync(join(dir, ".org"));
  const lock = `${eventJournalPath(dir)}.lock`;
  writeFileSync(lock, JSON.stringify({ pid: process.ppid, since: "2099-01-01T00:00:00.000Z" }));
  utimesSync(lock, new Date("2099-01-01"), new Date("2099-01-01"));
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 1 });
});

test("a folder planted where a rotation writes its next journal does not stop rotation", () => {
  const dir = folder();
  const bounds = { maxBytes: 400, keep: 2 };
  publishWorkspaceEvent(dir, { type: "proposals-changed" }, bounds);
  mkdirSync(join(`${eventJournalPath(dir)}.next-${process.pid}`, "inner"), { recursive: true });
  const results = Array.from({ length: 8 }, () => publishWorkspaceEvent(dir, { type: "proposals-changed" }, bounds));
  expect(results.at(-1)).toEqual({ published: true, seq: 9 });
  expect(readWorkspaceEvents(dir, 0).floor).toBeGreaterThan(0);
});

test("sequence numbers planted out of order do not make a writer reuse one a follower has passed", () => {
  const dir = folder();
  mkdirSync(join(dir, ".org"));
  const line = (seq: number) => JSON.stringify({ seq, at: "x", event: { type: "proposals-changed" } });
  writeFileSync(eventJournalPath(dir), `{"floor":0}\n${line(1)}\n${line(100)}\n${line(5)}\n`);
  const seen: number[] = [];
  const follower = followWorkspaceEvents(dir, { onEvents: (records) => seen.push(...records.map((record) => record.seq)) });
  expect(publishWorkspaceEvent(dir, { type: "proposals-changed" })).toEqual({ published: true, seq: 101 });
  follower.check();
  follower.stop();
  expect(seen).toEqual([101]);
});
