import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lineSealer } from "../config/line-seal.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { Transcript } from "../room/transcript.ts";
import { transcriptLineSchema } from "../room/transcript-line.ts";
import { EMPTY_CURSOR, type GrowCursor } from "./grow-state.ts";
import { noticeNeeds, toolKinds } from "./notice-needs.ts";

// Issue 74, item 5d: a transcript's seal named the session, not the workspace, so the person's own transcript copied
// into another workspace under its session id was heard there as a person's words. A seal now names the workspace
// (its sessions folder's real path): what `org grow` reads in the workspace it was written in is heard, a copy
// elsewhere is not. Lines sealed before that are heard only where grow already followed that very file.
const base = mkdtempSync(join(tmpdir(), "org-transcript-workspace-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let made = 0;
const kindOf = toolKinds([]);
const SESSION = "20261129-091500-abcdef";

function workspace(): { dir: string; sessions: string } {
  const dir = join(base, `ws-${made++}`);
  const sessions = join(dir, SESSIONS_DIR);
  mkdirSync(sessions, { recursive: true });
  return { dir, sessions };
}

/** A person's turn, as the room hands it to its transcript. */
const asked = (turnId: string, text: string): RoomEvent => ({ type: "turn-start", turnId, text, mode: "group", addressed: [] });
/** The same as a transcript line's text (its time added), as the room writes it. */
const askedLine = (turnId: string, text: string) =>
  JSON.stringify(transcriptLineSchema().parse({ ...asked(turnId, text), time: new Date().toISOString() }));

/** What `org grow` hears in `workspaceDir` from `cursor` on: the goals of its needs, and the files it did not hear. */
function heard(workspaceDir: string, cursor: GrowCursor = EMPTY_CURSOR) {
  const noticed = noticeNeeds({ workspaceDir, cursor, kindOf });
  return { needs: noticed.needs.map((need) => need.goal), unheard: noticed.read.unheard.map((entry) => entry.file), cursor: noticed.cursor };
}

describe("a transcript's seal names its workspace", () => {
  test("the room's transcript copied into a second workspace and resumed there is not heard; in the first it is", () => {
    const first = workspace();
    const written = Transcript.open(first.sessions, SESSION, { personas: ["agent"], mode: "group" });
    written.append(asked("t1", "we need a tool that counts the vowels in a text"));
    written.close();
    const second = workspace();
    copyFileSync(join(first.sessions, `${SESSION}.jsonl`), join(second.sessions, `${SESSION}.jsonl`));
    // Resumed there, as `org chat --resume` would: the room appends its own line, sealed for the second workspace.
    const resumed = Transcript.open(second.sessions, SESSION, { personas: ["agent"], mode: "group" });
    resumed.close();

    const there = heard(second.dir);
    expect(there.needs).toEqual([]);
    expect(there.unheard).toEqual([join(SESSIONS_DIR, `${SESSION}.jsonl`)]);
    const here = heard(first.dir);
    expect(here.needs).toEqual(["counts the vowels in a text"]);
    expect(here.unheard).toEqual([]);
    // Said in the second workspace itself, after the resume: its own words, heard.
    const more = Transcript.open(second.sessions, SESSION, { personas: ["agent"], mode: "group" });
    more.append(asked("t2", "we need a tool that reverses the words in a sentence"));
    more.close();
    expect(heard(second.dir, there.cursor).needs).toEqual(["reverses the words in a sentence"]);
  });

  test("a transcript sealed before seals named the workspace: heard where grow already followed that file, not in a copy", () => {
    const first = workspace();
    const path = join(first.sessions, `${SESSION}.jsonl`);
    // As org sealed a line before: under the session's id alone.
    const legacy = lineSealer(userOrgDir(), `transcript ${SESSION}`, true);
    if (!legacy) throw new Error("no key to seal with: the test process has no ORG_HOME");
    const line = (at: number, text: string) => `${legacy.seal(String(at), askedLine(text === "" ? "t0" : "t1", text || "hello"))}\n`;
    const opening = line(0, "");
    writeFileSync(path, opening);
    // Grow followed this very file before the upgrade: its cursor names the file's inode and where it stopped.
    const followed: GrowCursor = { ...EMPTY_CURSOR, sessions: { [SESSION]: { offset: opening.length, ino: statSync(path).ino } } };
    writeFileSync(path, line(opening.length, "we need a tool that counts the vowels in a text"), { flag: "a" });
    const second = workspace();
    copyFileSync(path, join(second.sessions, `${SESSION}.jsonl`));

    expect(heard(first.dir, followed).needs).toEqual(["counts the vowels in a text"]);
    // The copy, even with the first workspace's cursor beside it (another file: another inode), is no one's words.
    const copied = heard(second.dir, followed);
    expect(copied.needs).toEqual([]);
    expect(copied.unheard).toEqual([join(SESSIONS_DIR, `${SESSION}.jsonl`)]);
    // A file grow never followed gives no evidence it is this workspace's own: its old lines are not heard.
    expect(heard(first.dir).needs).toEqual([]);
  });
});
