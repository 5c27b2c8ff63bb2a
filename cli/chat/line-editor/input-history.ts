import { readFile } from "node:fs/promises";
import { appendPrivateFile, writePrivateFile } from "../../../security/private-state.ts";
import { errorCode } from "../../../concurrency/error-code.ts";

/** Entries kept in memory and on disk; older ones are dropped when the file is rewritten. */
export const HISTORY_LIMIT = 1000;

/**
 * Reads the input history file: one JSON string per line (so multi-line entries survive), oldest first.
 * A missing file is an empty history; a damaged line is skipped rather than losing the rest.
 */
export async function loadHistory(path: string, limit = HISTORY_LIMIT): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
  const entries: string[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (typeof entry === "string") entries.push(entry);
    } catch {
      // a line cut by a crash: skip it
    }
  }
  if (entries.length > limit * 2) {
    // Keep the file from growing without bound.
    const kept = entries.slice(-limit);
    writePrivateFile(path, kept.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
    return kept;
  }
  return entries.slice(-limit);
}

/** Appends one entry to the history file (0600, never through a link), creating its folder the first time. */
export async function appendHistory(path: string, entry: string): Promise<void> {
  appendPrivateFile(path, `${JSON.stringify(entry)}\n`);
}
