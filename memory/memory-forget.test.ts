// `memory forget` takes the text out of every file under .org/memory/ (the profile and the observer's waiting
// proposals too): facts.jsonl is rewritten without it,
// sqlite overwrites what it deleted (secure_delete), merges the full-text index and vacuums, and the WAL is
// truncated. Checked by reading every file there, -wal and -shm included, for a marker.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import type { TranscriptLine } from "../room/transcript-line.ts";
import { OBSERVER } from "./facts-command.ts";
import { FACTS_FILE, MemoryStore } from "./memory-store.ts";
import { writeObservedProfile } from "./observed-profile.ts";
import { StagedFacts } from "./staged-facts.ts";

const base = mkdtempSync(join(tmpdir(), "org-memory-forget-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

// Each marker starts with letters no other word here starts with, so the full-text index cannot store it
// prefix-compressed against a neighbouring term (which would hide a leftover from the search below).
const FACT_MARKER = "zqfactmarker7731";
const SESSION_MARKER = "zjsessionmarker4409";
const SESSION_FACT_MARKER = "zxsessionfact5120";
const STAGED_MARKER = "zwstagedquote6093";

function message(id: string, text: string): TranscriptLine {
  const time = new Date().toISOString();
  return { type: "message", time, message: { id, turnId: id, from: "agent", text, time, heardBy: ["user"], addressed: [] } } as TranscriptLine;
}

/** The files under `.org/memory/` whose bytes hold `marker`, in any case. */
function filesHolding(workspaceDir: string, marker: string): string[] {
  const dir = join(workspaceDir, MEMORY_DIR);
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => readFileSync(path).toString("latin1").toLowerCase().includes(marker));
}

test("forgetting a fact and a session leaves their text in no file under .org/memory/, while another connection has it open", async () => {
  const workspaceDir = join(base, "w");
  const { store: chat } = MemoryStore.open(workspaceDir);
  const { store: cli } = MemoryStore.open(workspaceDir);
  try {
    // Enough other records that the deleted rows share pages, and the index has several segments.
    for (let index = 0; index < 300; index += 1)
      chat.index("20261125-000000-aaaaaa", message(`m${index}`, `ordinary note ${index} about deploys and ports`));
    // Facts the observer learned (so the profile holds them), and a proposal of that session still waiting.
    const fact = chat.save({ text: `the door code is ${FACT_MARKER}`, tags: ["observed", "fact"], persona: OBSERVER });
    const kept = chat.save({ text: "the staging port is 5433", tags: ["staging"], persona: "agent" });
    chat.index("20261125-000001-bbbbbb", message("s1", `the session said ${SESSION_MARKER} twice: ${SESSION_MARKER}`));
    chat.save({ text: `saved in that session: ${SESSION_FACT_MARKER}`, tags: ["observed"], persona: OBSERVER, sessionId: "20261125-000001-bbbbbb" });
    writeObservedProfile(workspaceDir, 8_000);
    StagedFacts.of(workspaceDir).update((file) => {
      const time = new Date().toISOString();
      const sessionId = "20261125-000001-bbbbbb";
      file.pending.push({ id: "s-1", text: `says ${STAGED_MARKER}`, kind: "fact", quote: STAGED_MARKER, sessionId, messageId: "s1", time });
    });
    for (let index = 300; index < 400; index += 1) chat.index("20261125-000000-aaaaaa", message(`m${index}`, `later note ${index}`));
    for (const marker of [FACT_MARKER, SESSION_MARKER, SESSION_FACT_MARKER, STAGED_MARKER])
      expect(filesHolding(workspaceDir, marker).length).toBeGreaterThan(0);
    expect(filesHolding(workspaceDir, FACT_MARKER)).toContain(join(workspaceDir, MEMORY_DIR, "profile.md"));

    cli.forgetFact(fact.id);
    expect(filesHolding(workspaceDir, FACT_MARKER)).toEqual([]);
    expect(filesHolding(workspaceDir, SESSION_MARKER).length).toBeGreaterThan(0);

    cli.forgetSession("20261125-000001-bbbbbb");
    for (const marker of [FACT_MARKER, SESSION_MARKER, SESSION_FACT_MARKER, STAGED_MARKER])
      expect({ marker, files: filesHolding(workspaceDir, marker) }).toEqual({ marker, files: [] });

    // What was not forgotten stays, in the log and the index, for both connections; the forgetting is recorded.
    const log = readFileSync(join(workspaceDir, MEMORY_DIR, FACTS_FILE), "utf8");
    expect(log).toContain(kept.id);
    expect(log).toContain(`"type":"forget-fact","id":"${fact.id}"`);
    expect(log).toContain('"type":"forget-session","sessionId":"20261125-000001-bbbbbb"');
    expect((await chat.search("staging port")).hits.map((hit) => hit.factId)).toContain(kept.id);
    expect((await chat.search(FACT_MARKER)).hits).toEqual([]);
    expect((await cli.search("ordinary note 7")).hits.length).toBeGreaterThan(0);
    expect(chat.counts().message).toBe(400);
  } finally {
    chat.close();
    cli.close();
  }
  // A rebuild from the log brings none of it back.
  const { store } = MemoryStore.open(workspaceDir);
  try {
    store.rebuild();
    expect(store.counts()).toMatchObject({ fact: 1, message: 0 });
  } finally {
    store.close();
  }
  for (const marker of [FACT_MARKER, SESSION_MARKER, SESSION_FACT_MARKER])
    expect({ marker, files: filesHolding(workspaceDir, marker) }).toEqual({ marker, files: [] });
});
