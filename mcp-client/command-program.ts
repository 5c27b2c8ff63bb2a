import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { type LaunchPlace, toHost } from "./launch-place.ts";

/** Programs that run a script they are handed, or code given inline. */
export const INTERPRETER = /^(node|nodejs|bun|deno|tsx|ts-node|python[0-9.]*|pypy[0-9.]*|sh|bash|dash|zsh|ksh|ash|ruby|perl)$/;
/** Python: `-m` and a script's folder decide where it imports from first. */
export const PYTHON = /^(python[0-9.]*|pypy[0-9.]*)$/;
/** Shells: a `-c` string, a script and what it sources are followed as commands. */
export const SHELL = /^(sh|bash|dash|zsh|ksh|ash)$/;

/** The program a command names, as a runner or interpreter is known: its file name, without a Windows-style `.exe`. */
export function programName(command: string): string {
  return basename(command).replace(/\.exe$/i, "");
}

/** Where the shell looks for `command`: each PATH entry's candidate up to the first program there (or its path when it names one). */
export function commandCandidates(command: string, place: LaunchPlace): string[] {
  if (command.includes("/")) return [toHost(place, command)];
  const candidates: string[] = [];
  for (const entry of place.path) {
    const candidate = toHost(place, join(entry === "" ? "." : entry, command));
    candidates.push(candidate);
    if (isProgram(candidate)) break;
  }
  return candidates;
}

/** Whether `path` is a file the shell would run: regular and executable. */
export function isProgram(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Bytes of a script read to follow what it sources and runs. */
const MAX_SCRIPT_BYTES = 64 * 1024;

/** The first `bytes` of a plain file, as text (read without blocking: a FIFO gives nothing); undefined when there is none. */
export function scriptHead(path: string, bytes = MAX_SCRIPT_BYTES): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer)).toString("utf8");
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether a program file is a shell script (its `#!` line names a shell, directly or through `env`). */
export function isShellScript(path: string): boolean {
  const first = scriptHead(path, 256)?.split("\n", 1)[0] ?? "";
  if (!first.startsWith("#!")) return false;
  const words = first.slice(2).trim().split(/\s+/);
  const program = basename(words[0] ?? "") === "env" ? words.slice(1).find((word) => !word.startsWith("-")) : words[0];
  return SHELL.test(basename(program ?? ""));
}
