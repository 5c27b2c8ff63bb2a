import { join } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

// The profile: what org learned about the person, as Markdown in the workspace's `.org/memory/profile.md` (beside the
// facts it is made of, so `org memory forget` reaches it). The weekly digest writes it from the active facts the observer
// learned; every persona's system prompt carries it. The person may read and edit it: lines under "## Your notes" are
// theirs and kept as written; each learned line ends with its fact's id in a comment, which forget uses to take it out.

/** The profile's file under `.org/memory/`. */
export const PROFILE_FILE = "profile.md";
const NOTES_HEADING = "## Your notes";
const LEARNED_HEADING = "## Learned from your own words";
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
    ...(lines.length > 0 ? lines : ["(nothing yet)"]),
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
  const notes = profileNotes(readText(path) ?? "");
  const built = profileMarkdown(facts, notes, maxChars);
  ensurePrivateDir(join(workspaceDir, MEMORY_DIR));
  writePrivateFile(path, built.text, { durable: true });
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
  if (kept.length === lines.length) return 0;
  writePrivateFile(path, kept.join("\n"), { durable: true });
  return lines.length - kept.length;
}

/** The profile as the person reads it (`org memory profile`), or undefined when there is none yet. */
export function readProfile(workspaceDir: string): string | undefined {
  return readText(profilePath(workspaceDir));
}

/**
 * What a persona's system prompt carries of the profile: its learned lines and the person's notes, without ids, headings
 * or org's explanation, at most `maxChars`; undefined when there is nothing (or no profile, or it cannot be read).
 */
export function profileForPrompt(workspaceDir: string, maxChars: number): string | undefined {
  let text: string | undefined;
  try {
    text = readText(profilePath(workspaceDir));
  } catch {
    return undefined; // a link or an unreadable file: the prompt goes without it
  }
  if (text === undefined) return undefined;
  const learned = text
    .split("\n")
    .filter((line) => MARKER.test(line))
    .map((line) => line.replace(MARKER, ""));
  const notes = profileNotes(text);
  const body = [...learned, ...(notes ? [notes] : [])].join("\n").trim();
  return body === "" ? undefined : body.slice(0, maxChars);
}
