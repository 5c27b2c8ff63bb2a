import { join } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { lineSealer } from "../config/line-seal.ts";
import { workspaceKey } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, readPrivateFileStart, writePrivateFile } from "../security/private-state.ts";

// The profile: what org learned about the person, as Markdown in the workspace's `.org/memory/profile.md` (beside the
// facts it is made of, so `org memory forget` reaches it). The weekly digest writes it from the active facts the observer
// learned; every persona's system prompt carries it. The person may read and edit it: lines under "## Your notes" are
// theirs and kept as written; each learned line ends with its fact's id in a comment, which forget uses to take it out.

/** The profile's file under `.org/memory/`. */
export const PROFILE_FILE = "profile.md";
/**
 * Beside it, its seal: the profile's digest sealed under the user's key for this workspace, written when org writes the
 * profile or the person edits it. A profile a clone, an archive or another program left (no seal, or one that does not
 * hold for its text here) is no one's word about the person: no prompt carries it until a rebuild or an edit adopts it.
 */
export const PROFILE_SEAL_FILE = "profile.seal";
const NOTES_HEADING = "## Your notes";
const LEARNED_HEADING = "## Learned from your own words";
const NOTHING_YET = "(nothing yet)";
/** Where a rebuild sets aside a profile org did not seal (its notes are not carried over). */
export const UNSEALED_FILE = "profile.unsealed.md";
/** Bytes of a profile a prompt is built from at most: one larger is no profile org wrote or a person keeps by hand. */
const PROFILE_MAX_BYTES = 256 * 1024;
const MARKER = /\s*<!--\s*(f-[\w-]+)\s*-->\s*$/;

/** A fact as the profile lists it. */
export type ProfileFact = { id: string; text: string; kind: string; time: string; confirmed: number };

/** Where the profile of the workspace `workspaceDir` is. */
export function profilePath(workspaceDir: string): string {
  return join(workspaceDir, MEMORY_DIR, PROFILE_FILE);
}

function readText(path: string): string | undefined {
  try {
    return readPrivateFile(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

function sealerOf(memoryDir: string, home: string | undefined, create: boolean) {
  return lineSealer(home, `profile in ${workspaceKey(memoryDir)}`, create);
}

function sealBody(text: string): string {
  return JSON.stringify({ sha256: new Bun.CryptoHasher("sha256").update(text).digest("hex") });
}

function sealIn(memoryDir: string, home: string | undefined): void {
  const text = readText(join(memoryDir, PROFILE_FILE));
  const sealer = sealerOf(memoryDir, home, true);
  if (text === undefined || sealer === undefined) return;
  writePrivateFile(join(memoryDir, PROFILE_SEAL_FILE), `${sealer.seal("profile", sealBody(text))}\n`, { durable: true });
}

function sealHolds(memoryDir: string, text: string, home: string | undefined): boolean {
  const sealer = sealerOf(memoryDir, home, false);
  if (sealer === undefined) return false;
  let line: string | undefined;
  try {
    line = readText(join(memoryDir, PROFILE_SEAL_FILE))?.trim();
  } catch {
    return false; // a link or an unreadable seal holds nothing
  }
  return line !== undefined && line.length < 200 && sealer.holds("profile", line) && line.startsWith(sealBody(text).slice(0, -1));
}

/** Seals the profile of `workspaceDir` as it is now: org wrote it, or the person edited it (no seal when there is no key). */
export function sealProfile(workspaceDir: string, home: string | undefined = userOrgDir()): void {
  sealIn(join(workspaceDir, MEMORY_DIR), home);
}

/** Whether `text` is the profile of `workspaceDir` as org last sealed it here. */
export function profileSealed(workspaceDir: string, text: string, home: string | undefined = userOrgDir()): boolean {
  return sealHolds(join(workspaceDir, MEMORY_DIR), text, home);
}

/** The person's own lines: what stands under "## Your notes" until the next heading of that level. */
export function profileNotes(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.trim() === NOTES_HEADING);
  if (start < 0) return "";
  const end = lines.findIndex((line, index) => index > start && /^## /.test(line));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .join("\n")
    .trim();
}

/** A line of the profile: one line, no markup that could pass for a turn or a comment's end. */
function factLine(fact: ProfileFact): string {
  const text = fact.text.replace(/\s+/g, " ").replace(/-->/g, "—>").trim();
  return `- ${text} (${fact.kind}${fact.confirmed > 0 ? `, said ${fact.confirmed + 1} times` : ""})`;
}

/**
 * The profile's Markdown, within `maxChars` of what a prompt carries (the person's notes, then the learned lines; ids
 * and headings not counted): the notes first (at most half), then the facts most confirmed first, newest first among
 * equals, until the rest would not fit. `left`: the facts cut.
 */
export function profileMarkdown(facts: readonly ProfileFact[], notes: string, maxChars: number): { text: string; kept: number; left: number } {
  const keptNotes = notes.slice(0, Math.floor(maxChars / 2));
  let room = maxChars - keptNotes.length;
  const ordered = [...facts].sort((a, b) => b.confirmed - a.confirmed || b.time.localeCompare(a.time) || a.id.localeCompare(b.id));
  const lines: string[] = [];
  for (const fact of ordered) {
    const line = factLine(fact);
    if (line.length + 1 > room) break;
    room -= line.length + 1;
    lines.push(`${line} <!-- ${fact.id} -->`);
  }
  const left = ordered.length - lines.length;
  const text = [
    "# What org learned about you",
    "",
    "Written by the weekly digest from the facts the observer learned from your own words (org memory profile shows it;",
    'every persona\'s prompt carries it). Write your own lines under "Your notes": they are kept as you wrote them. A',
    "learned line goes for good with `org memory forget --fact ID` (the id stands at its end).",
    "",
    LEARNED_HEADING,
    "",
    ...(lines.length > 0 ? lines : [NOTHING_YET]),
    ...(left > 0 ? ["", `(${left} more left out: the profile keeps to observer.profileChars, ${maxChars} characters)`] : []),
    "",
    NOTES_HEADING,
    "",
    ...(keptNotes ? [keptNotes] : []),
    "",
  ].join("\n");
  return { text, kept: lines.length, left };
}

/** Writes the profile of `workspaceDir` from `facts`, keeping the person's notes; returns its path and what it kept. */
export function writeProfile(workspaceDir: string, facts: readonly ProfileFact[], maxChars: number): { path: string; kept: number; left: number } {
  const path = profilePath(workspaceDir);
  const before = readText(path);
  // Notes org did not seal here (a clone's profile, or one edited behind org's back) are no one's word: they are set
  // aside in UNSEALED_FILE for the person to read, not carried into the new profile.
  const sealed = before !== undefined && profileSealed(workspaceDir, before);
  if (before !== undefined && !sealed) writePrivateFile(join(workspaceDir, MEMORY_DIR, UNSEALED_FILE), before, { durable: true });
  const notes = sealed ? profileNotes(before) : "";
  const built = profileMarkdown(facts, notes, maxChars);
  ensurePrivateDir(join(workspaceDir, MEMORY_DIR));
  writePrivateFile(path, built.text, { durable: true });
  sealProfile(workspaceDir);
  return { path, kept: built.kept, left: built.left };
}

/** Takes the lines of forgotten facts out of the profile of the memory folder `memoryDir`; how many went. */
export function removeFromProfile(memoryDir: string, factIds: ReadonlySet<string>): number {
  const path = join(memoryDir, PROFILE_FILE);
  const text = readText(path);
  if (text === undefined) return 0;
  const lines = text.split("\n");
  const kept = lines.filter((line) => {
    const id = MARKER.exec(line)?.[1];
    return id === undefined || !factIds.has(id);
  });
  const removed = lines.length - kept.length;
  if (removed === 0) return 0;
  // The last learned line gone: the section says it is empty, as a profile written with no facts does.
  const learned = kept.indexOf(LEARNED_HEADING);
  const notes = kept.indexOf(NOTES_HEADING);
  if (learned >= 0 && notes > learned && kept.slice(learned + 1, notes).every((line) => line.trim() === ""))
    kept.splice(learned + 1, notes - learned - 1, "", NOTHING_YET, "");
  // A profile org did not seal stays unsealed: taking lines out of it is no reason to believe the rest.
  const sealed = sealHolds(memoryDir, text, userOrgDir());
  writePrivateFile(path, kept.join("\n"), { durable: true });
  if (sealed) sealIn(memoryDir, userOrgDir());
  return removed;
}

/** The profile as the person reads it (`org memory profile`), or undefined when there is none yet. */
export function readProfile(workspaceDir: string): string | undefined {
  return readText(profilePath(workspaceDir));
}

/**
 * What a persona's system prompt carries of the profile: its learned lines and the person's notes, without ids, headings
 * or org's explanation, at most `maxChars`; undefined when there is nothing (or no profile, or it cannot be read, or
 * org did not seal it here).
 */
export function profileForPrompt(workspaceDir: string, maxChars: number, home: string | undefined = userOrgDir()): string | undefined {
  let text: string | undefined;
  try {
    const start = readPrivateFileStart(profilePath(workspaceDir), PROFILE_MAX_BYTES);
    if (start.size > PROFILE_MAX_BYTES) return undefined;
    text = start.text;
  } catch {
    return undefined; // none, a link or an unreadable file: the prompt goes without it
  }
  if (!profileSealed(workspaceDir, text, home)) return undefined;
  const learned = text
    .split("\n")
    .filter((line) => MARKER.test(line))
    .map((line) => line.replace(MARKER, ""));
  const notes = profileNotes(text);
  const body = [...learned, ...(notes ? [notes] : [])].join("\n").trim();
  return body === "" ? undefined : body.slice(0, maxChars);
}
