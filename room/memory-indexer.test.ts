import { expect, test } from "bun:test";
import { memoryIndexer } from "./memory-indexer.ts";
import type { TranscriptLine } from "./transcript-line.ts";

const LINE: TranscriptLine = { type: "session-resumed", time: "2026-11-23T00:00:00.000Z" };

test("memory's notices are passed on after the line; a failure to index is said once and never thrown", async () => {
  const said: string[] = [];
  let fail = false;
  let notices = ["rebuilt the index"];
  const indexed: string[] = [];
  const onLine = memoryIndexer(
    {
      index(sessionId) {
        if (fail) throw new Error("disk full");
        indexed.push(sessionId);
      },
      takeNotices() {
        const taken = notices;
        notices = [];
        return taken;
      },
    },
    "s-1",
    (message) => said.push(message),
  );
  onLine(LINE);
  expect(said).toEqual([]); // said after the line's own event, not in the middle of it
  await Promise.resolve();
  expect(said).toEqual(["rebuilt the index"]);
  fail = true;
  onLine(LINE);
  onLine(LINE);
  await Promise.resolve();
  expect(indexed).toEqual(["s-1"]);
  expect(said.length).toBe(2);
  expect(said[1]).toContain("memory could not index this session (disk full)");
});
