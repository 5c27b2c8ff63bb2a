import { closeSync, constants, fstatSync, lstatSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { numberedLines, readJsonLines } from "../config/json-lines.ts";
import { TOOL_NAME_PATTERN, USAGE_DIR } from "../config/workspace-paths.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { ensurePrivateDir, openPrivateFile, readPrivateFile } from "../security/private-state.ts";
import { redact } from "../security/redact.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";

// The record of every call of a generated tool under `<repo>/.org/usage/`: one JSON line per call appended to
// `calls.jsonl`, which is renamed to `calls-<ms>-<ns>-<pid>.jsonl` once it passes a size and a fresh one
// begins; only the newest archives are kept, so the record's size is bounded. Each line is one write of an
// O_APPEND file, so processes may append at once; a line torn by a crash (or anything that is not a call) is
// skipped when read.

/**
 * Why a call did not succeed, as the runner says (generated-tools/run-generated-tool.ts). `input` (the tool's own input
 * schema refused what the caller sent) and `cancelled` (its caller cut it) are the caller's, not the tool's: outcomes
 * of their own (`NOT_THE_TOOLS`), shown by `tool stats`, never counted toward a tool's health.
 */
export const CallFailure = z.enum(["input", "tool", "timeout", "output", "sandbox", "cancelled"]);
export type CallFailure = z.infer<typeof CallFailure>;

/** Outcomes that say nothing of the tool: it refused an input its schema does not accept, or its caller cut the call. */
export const NOT_THE_TOOLS: ReadonlySet<CallFailure> = new Set(["input", "cancelled"]);

/** Whether a call judges its tool: it succeeded, or failed on an input its schema accepted and ran to its end. */
export function judgesTool(call: Pick<ToolCall, "ok" | "reason">): boolean {
  return call.ok || call.reason === undefined || !NOT_THE_TOOLS.has(call.reason);
}

/** One recorded call. `input` and `error` are kept (redacted, cut short) for failures only: they seed a rebuild. */
export const ToolCall = z.object({
  /** When the call ended, ms since the epoch. */
  t: z.number().finite(),
  /** A generated tool's name: a line naming anything else was not written by org and is skipped. */
  tool: z.string().regex(TOOL_NAME_PATTERN),
  /** sha256 of the tool.ts that ran: a rebuilt tool starts a new record. */
  version: z.string().max(128).optional(),
  ok: z.boolean(),
  reason: CallFailure.optional(),
  ms: z.number().finite().min(0),
  input: z.string().max(4_000).optional(),
  error: z.string().max(4_000).optional(),
});
export type ToolCall = z.infer<typeof ToolCall>;

/** Bytes of `calls.jsonl` past which it is archived and a new one begun. */
export const ROTATE_AT_BYTES = 4 * 1024 * 1024;
/** Archives kept beside the current file; older ones are removed. */
export const KEPT_ARCHIVES = 2;
const INPUT_CHARS = 1_000;
const ERROR_CHARS = 500;
const CURRENT = "calls.jsonl";
const ARCHIVE = /^calls-\d{13}-\d{20}-\d+\.jsonl$/;

/** What a finished call reports to `recordToolCall`. */
export type FinishedCall = {
  tool: string;
  version?: string;
  ok: boolean;
  reason?: CallFailure;
  durationMs: number;
  input?: unknown;
  error?: string;
  /** Default: now. */
  time?: number;
};

const cut = (text: string, chars: number) => (text.length > chars ? `${text.slice(0, chars - 1)}…` : text);

function inputText(input: unknown, secrets: readonly string[]): string {
  let text: string;
  try {
    text = JSON.stringify(input) ?? "null";
  } catch {
    text = String(input);
  }
  return cut(redact(text, secrets), INPUT_CHARS);
}

/**
 * Appends one call to `<repoDir>/.org/usage/calls.jsonl`, archiving the file when it passes `rotateAtBytes`.
 * Never throws: a record that cannot be written must not fail the call; the problem is returned instead.
 */
export function recordToolCall(
  repoDir: string,
  call: FinishedCall,
  options: { secrets?: readonly string[]; rotateAtBytes?: number; keptArchives?: number } = {},
): string | undefined {
  const secrets = options.secrets ?? [];
  const line: ToolCall = {
    t: call.time ?? Date.now(),
    tool: call.tool,
    ...(call.version !== undefined ? { version: call.version } : {}),
    ok: call.ok,
    ...(call.ok || call.reason === undefined ? {} : { reason: call.reason }),
    ms: Math.max(0, Math.round(call.durationMs)),
    ...(call.ok ? {} : { input: inputText(call.input, secrets) }),
    ...(call.ok || call.error === undefined ? {} : { error: cut(redact(call.error, secrets), ERROR_CHARS) }),
  };
  try {
    const directory = ensurePrivateDir(join(repoDir, USAGE_DIR));
    const fd = openPrivateFile(join(directory, CURRENT), constants.O_RDWR | constants.O_APPEND);
    let size: number;
    try {
      writeSync(fd, `${tornLineEnd(fd)}${JSON.stringify(line)}\n`);
      size = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
    if (size > (options.rotateAtBytes ?? ROTATE_AT_BYTES)) rotate(directory, options.keptArchives ?? KEPT_ARCHIVES);
    publishWorkspaceEvent(repoDir, { type: "tool-called", tool: call.tool });
    return undefined;
  } catch (error) {
    return `the call of ${call.tool} was not recorded in ${join(repoDir, USAGE_DIR)}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** A newline when the file ends in a line torn by a crash, so the new line is not glued to it. */
function tornLineEnd(fd: number): string {
  const { size } = fstatSync(fd);
  if (size === 0) return "";
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a ? "" : "\n";
}

function archivesIn(directory: string): string[] {
  try {
    return readdirSync(directory)
      .filter((name) => ARCHIVE.test(name))
      .sort();
  } catch (error) {
    if (errorCode(error) === "ENOENT") return [];
    throw error;
  }
}

function rotate(directory: string, kept: number): void {
  // The monotonic clock orders two archives of the same millisecond; the wall clock orders them across reboots.
  const name = `calls-${String(Date.now()).padStart(13, "0")}-${String(process.hrtime.bigint()).padStart(20, "0")}-${process.pid}.jsonl`;
  try {
    renameSync(join(directory, CURRENT), join(directory, name));
  } catch (error) {
    // Another process rotated it first.
    if (errorCode(error) !== "ENOENT") throw error;
  }
  const archives = archivesIn(directory);
  for (const old of archives.slice(0, Math.max(0, archives.length - kept))) rmSync(join(directory, old), { force: true });
}

/** The lines of a record file that are calls; a torn last line, or any line that is not a call, is skipped. */
export function parseToolCalls(text: string): ToolCall[] {
  return readJsonLines(numberedLines(text), ToolCall).values.map(({ value }) => value);
}

type FileRead = { size: number; chars: number; head: string; calls: ToolCall[] };

/**
 * The record of `<repoDir>/.org/usage/` read again and again (serve's `/metrics`): an archive never changes and
 * is parsed once, the current file only from where the last read stopped. A file is known by its inode, so the
 * current file renamed to an archive is not read twice; its first line tells it from a new file on a reused inode.
 */
export class ToolCallTail {
  readonly #directory: string;
  #files = new Map<number, FileRead>();

  constructor(repoDir: string) {
    this.#directory = join(repoDir, USAGE_DIR);
  }

  /** Every recorded call, archives first, each file's in the order written. */
  calls(): ToolCall[] {
    const next = new Map<number, FileRead>();
    const calls: ToolCall[] = [];
    for (const name of [...archivesIn(this.#directory), CURRENT]) {
      const path = join(this.#directory, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat) continue;
      let read = this.#files.get(stat.ino);
      if (!read || read.size !== stat.size) {
        const fresh = readRecordFile(path, read);
        if (!fresh) continue;
        read = fresh;
      }
      next.set(stat.ino, read);
      for (const call of read.calls) calls.push(call);
    }
    this.#files = next;
    return calls;
  }
}

/** A record file's calls, parsing only past `known` when the file is `known` grown; undefined when it is gone. */
function readRecordFile(path: string, known: FileRead | undefined): FileRead | undefined {
  let text: string;
  try {
    text = readPrivateFile(path);
  } catch (error) {
    // Rotated away or removed between the listing and the read.
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const head = text.slice(0, text.indexOf("\n") + 1);
  const same = known !== undefined && known.head === head && text.length >= known.chars;
  const from = same ? known.chars : 0;
  // A last line without its newline may still be being written: it is read once it is whole.
  const end = text.lastIndexOf("\n") + 1;
  const calls = same ? [...known.calls] : [];
  if (end > from) for (const call of parseToolCalls(text.slice(from, end))) calls.push(call);
  return { size: Buffer.byteLength(text), chars: Math.max(from, end), head, calls };
}

/** Every recorded call of `<repoDir>/.org/usage/`, oldest first (archives, then the current file). */
export function readToolCalls(repoDir: string): ToolCall[] {
  return new ToolCallTail(repoDir).calls().sort((a, b) => a.t - b.t);
}
