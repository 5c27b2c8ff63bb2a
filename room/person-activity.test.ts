import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newestMessageSince } from "./person-activity.ts";

const base = mkdtempSync(join(tmpdir(), "org-person-activity-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const NOW = Date.parse("2026-11-29T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
// Lines as the transcript writes them: `{ time, ...event }`, a streamed delta `{ ...event, time }`.
const turn = (at: number, text = "hi") => JSON.stringify({ time: iso(at), type: "turn-start", turnId: `t${at}`, text, mode: "group", addressed: [] });
const delta = (at: number, text: string) => JSON.stringify({ type: "text-delta", replyId: "r", persona: "agent", text, time: iso(at) });

function sessions(files: Record<string, string[]>): string {
  const dir = join(base, `s${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  for (const [id, lines] of Object.entries(files)) {
    writeFileSync(join(dir, `${id}.jsonl`), `${lines.join("\n")}\n`);
    // Last written at the test's now: a file untouched since `since` is not read at all.
    utimesSync(join(dir, `${id}.jsonl`), NOW / 1000, NOW / 1000);
  }
  return dir;
}

const schedules = new Map([["schedule", new Set(["morning news"])]]);

test("the newest message after `since` in any session; older ones, deltas that quote a turn, and a schedule's own do not count", () => {
  const dir = sessions({
    a: [turn(NOW - 3_600_000), delta(NOW - 3_500_000, 'he typed {"time":"2026-11-29T11:59:00Z","type":"turn-start"}')],
    b: [turn(NOW - 7_200_000), turn(NOW - 120_000), delta(NOW - 60_000, "answer")],
    schedule: [turn(NOW - 1000, "morning news")],
  });
  expect(newestMessageSince(dir, NOW - 300_000, { now: NOW, notPersons: schedules })).toBe(NOW - 120_000);
  expect(newestMessageSince(dir, NOW - 300_000, { now: NOW })).toBe(NOW - 1000);
  expect(newestMessageSince(dir, NOW - 100_000, { now: NOW, notPersons: schedules })).toBeUndefined();
  expect(newestMessageSince(join(base, "none"), 0, { now: NOW })).toBeUndefined();
  // A session last written before `since` is not opened: its lines cannot be newer.
  utimesSync(join(dir, "b.jsonl"), (NOW - 600_000) / 1000, (NOW - 600_000) / 1000);
  expect(newestMessageSince(dir, NOW - 300_000, { now: NOW, notPersons: schedules })).toBeUndefined();
});

test("a person who opens a schedule's session and writes there is a person", () => {
  const dir = sessions({
    schedule: [turn(NOW - 90_000, "morning news"), turn(NOW - 60_000, "and what about the tests?"), turn(NOW - 1000, "morning news")],
  });
  expect(newestMessageSince(dir, NOW - 300_000, { now: NOW, notPersons: schedules })).toBe(NOW - 60_000);
  expect(newestMessageSince(dir, NOW - 30_000, { now: NOW, notPersons: schedules })).toBeUndefined();
});

test("a line cut across the reads' chunks is read whole; a line dated days ahead is no evidence", () => {
  const long = delta(NOW - 10_000, "x".repeat(200_000));
  const dir = sessions({ a: [turn(NOW - 30_000, "y".repeat(70_000)), long, long], future: [turn(NOW + 3 * 86_400_000)] });
  expect(newestMessageSince(dir, NOW - 60_000, { now: NOW })).toBe(NOW - 30_000);
});
