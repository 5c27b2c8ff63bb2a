import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readPrivateFileBackwards } from "../security/private-state.ts";

/** How much of one transcript's end is read looking for a message; past it the file's last write counts as one. */
const MAX_BYTES_PER_FILE = 8 * 1024 * 1024;
/** A line dated further past now than this is no evidence (no session of org's is; a planted line can be). */
const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;
const TURN_START = '"type":"turn-start"';
const TIME_KEY = '"time":"';

/**
 * The time a transcript line was written: its first `time` member (the transcript writes `{ time, ...event }`, a header
 * or a streamed delta has no object before its own; a string's quotes are escaped, so none holds the key's spelling).
 */
function lineTime(text: string): number | undefined {
  const at = text.indexOf(TIME_KEY);
  if (at < 0) return undefined;
  const end = text.indexOf('"', at + TIME_KEY.length);
  const time = Date.parse(text.slice(at + TIME_KEY.length, end));
  return Number.isFinite(time) ? time : undefined;
}

/**
 * When the newest message was sent into the transcript at `path` after `since` (ms), read from its end backwards and
 * only as far as `since`; the file's last write when that is further back than MAX_BYTES_PER_FILE.
 */
/** Whether a turn-start line is a person's: any turn is, but in a schedule's session one with a text the schedule sends. */
function personsTurn(text: string, notPersons: ReadonlySet<string> | undefined): boolean {
  if (notPersons === undefined) return true;
  try {
    const line: unknown = JSON.parse(text);
    const said = typeof line === "object" && line !== null && "text" in line ? line.text : undefined;
    return typeof said !== "string" || !notPersons.has(said);
  } catch {
    return true;
  }
}

function newestTurnIn(path: string, since: number, latest: number, mtime: number, notPersons?: ReadonlySet<string>): number | undefined {
  let found: number | undefined;
  let read = 0;
  let carry = Buffer.alloc(0);
  let older = false;
  let atStart = false;
  readPrivateFileBackwards(path, (bytes, at) => {
    read += bytes.length;
    atStart = at === 0;
    const region = Buffer.concat([bytes, carry]);
    const first = region.indexOf(0x0a);
    // The part before the first newline may be a line cut by the chunk: it is read with the next chunk.
    carry = first < 0 ? region : region.subarray(0, first);
    const lines = first < 0 ? [] : region.toString("utf8", first + 1).split("\n");
    for (const text of lines.reverse()) {
      const time = lineTime(text);
      if (time === undefined) continue;
      if (time <= since) {
        older = true;
        return false;
      }
      if (text.includes(TURN_START) && time <= latest && personsTurn(text, notPersons)) {
        found = time;
        return false;
      }
    }
    return read < MAX_BYTES_PER_FILE;
  });
  if (found !== undefined || older) return found;
  if (!atStart) return Math.min(mtime, latest);
  // The file's first line, which no newline comes before.
  const time = lineTime(carry.toString("utf8"));
  const first = carry.toString("utf8");
  return time !== undefined && time > since && time <= latest && first.includes(TURN_START) && personsTurn(first, notPersons) ? time : undefined;
}

/**
 * The newest time (ms since the epoch) a message was sent into any session of `sessionsDir` after `since`, or undefined
 * when none was: a person's words, from the terminal, the web room, Telegram or a client of serve, whatever process
 * wrote them. In a session `notPersons` names (a schedule's, which a person may open and go on in) a message whose text
 * is one of those it lists (what the schedule sends) is not a person's. A transcript not written since `since` is not
 * read; the others only from their end back to `since`. Read-only and without seals: a planted line can only make org
 * think someone wrote, which makes the supervisor's own work wait.
 */
export function newestMessageSince(
  sessionsDir: string,
  since: number,
  options: { now: number; notPersons?: ReadonlyMap<string, ReadonlySet<string>> },
): number | undefined {
  let names: string[];
  try {
    names = readdirSync(sessionsDir).filter((name) => name.endsWith(".jsonl"));
  } catch {
    return undefined;
  }
  const latest = options.now + FUTURE_SLACK_MS;
  let newest: number | undefined;
  for (const name of names) {
    const path = join(sessionsDir, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isFile() || stat.mtimeMs <= since) continue;
      const time = newestTurnIn(path, since, latest, stat.mtimeMs, options.notPersons?.get(name.slice(0, -".jsonl".length)));
      if (time !== undefined && (newest === undefined || time > newest)) newest = time;
    } catch {
      // A transcript removed or unreadable meanwhile tells nothing.
    }
  }
  return newest;
}
