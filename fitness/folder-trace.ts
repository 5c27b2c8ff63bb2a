import { accessSync, constants, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, normalize, resolve } from "node:path";
import { GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";

/**
 * Where the gate looks for strace: fixed places only, never PATH, since which tests it runs rests on the trace.
 * Without one the tests stage runs every file it selects, as it did before traces.
 */
const STRACE_LOCATIONS = ["/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace"];

/** The first strace of `locations` that can trace a child here (ptrace may be refused in a container), or undefined. */
export function workingStrace(locations: readonly string[] = STRACE_LOCATIONS): string | undefined {
  for (const path of locations) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      continue;
    }
    const probe = Bun.spawnSync([path, "-f", "--seccomp-bpf", "-qq", "-o", "/dev/null", "--", "/bin/sh", "-c", "exit 7"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      timeout: 10_000,
    });
    if (probe.exitCode === 7) return path;
  }
  return undefined;
}

/**
 * `argv` under strace, following every child (`-f`), with every syscall that names a path (`%file`: open, stat,
 * access, readlink, exec, chdir, mount…), directory listings, and io_uring set-ups (which could read files
 * unseen), file descriptors decoded to paths (`-y`), strings unabbreviated and an exec's arguments and environment
 * in full, into `output`. Other structures stay abbreviated: a listing's entries or a stat's fields are never read
 * here, and printing them (`-v`) doubled the log and much of the tracer's time.
 */
export function tracedArgv(strace: string, output: string, argv: readonly string[]): string[] {
  return [
    strace,
    "-f",
    "--seccomp-bpf",
    "-qq",
    "-y",
    "-e",
    "abbrev=!execve,execveat",
    "-s",
    "65536",
    "-e",
    "trace=%file,%process,fchdir,getdents64,getdents,io_uring_setup",
    "-o",
    output,
    "--",
    ...argv,
  ];
}

const QUOTED = /"((?:[^"\\]|\\.)*)"/g;
const DECODED_FD = /(?:\b\d+|AT_FDCWD)<((?:[^>\\]|\\.)*)>/g;
// An *at syscall's directory and the path relative to it: `openat(AT_FDCWD</dir>, "rel"` or `newfstatat(7</dir>, "rel"`.
const AT_PAIR = /(?:\b\d+|AT_FDCWD)<((?:[^>\\]|\\.)*)>, "((?:[^"\\]|\\.)*)"/g;

function unquote(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, code: string) => {
    if (code.startsWith("x")) return String.fromCharCode(Number.parseInt(code.slice(1), 16));
    if (/^[0-7]+$/.test(code)) return String.fromCharCode(Number.parseInt(code, 8));
    return code === "n" ? "\n" : code === "t" ? "\t" : code;
  });
}

/** The places a trace line must not touch for a test to count as not reading the judged tool folders. */
function watchedPlaces(worktree: string): string[] {
  const roots = new Set([resolve(worktree)]);
  try {
    roots.add(realpathSync(worktree));
  } catch {}
  const places: string[] = [];
  for (const root of roots) {
    places.push(join(root, GENERATED_TOOLS_DIR), join(root, ".git"));
    // A worktree's `.git` is a file naming its own git folder, where HEAD and the index of the judged commit live.
    try {
      const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(join(root, ".git"), "utf8"))?.[1]?.trim();
      if (gitdir) places.push(resolve(root, gitdir));
    } catch {}
  }
  return [...new Set(places)];
}

const within = (path: string, place: string) => path === place || path.startsWith(`${place}/`);

const LINE = /^(\d+)\s+(?:<\.\.\.\s+([a-z0-9_]+) resumed>|([a-z0-9_]+)\()/;
const CREATES = new Set(["clone", "clone3", "fork", "vfork"]);
const RETURNED = /\)\s+=\s+(-?\d+)/;

/** For each line that starts a clone, fork or vfork: the new process's pid and whether it shares its parent's working directory. */
function childrenByLine(lines: readonly string[]): Map<number, { pid: string; sharesDirectory: boolean }> {
  const started = new Map<string, { index: number; sharesDirectory: boolean }>();
  const children = new Map<number, { pid: string; sharesDirectory: boolean }>();
  for (const [index, line] of lines.entries()) {
    const [, pid = "", resumed, called] = LINE.exec(line) ?? [];
    const syscall = resumed ?? called ?? "";
    if (!CREATES.has(syscall)) continue;
    const call = resumed ? started.get(pid) : { index, sharesDirectory: /\bCLONE_FS\b/.test(line) };
    if (!resumed && line.includes("<unfinished ...>") && call) {
      started.set(pid, call);
      continue;
    }
    const child = RETURNED.exec(line)?.[1];
    if (call && child && Number(child) > 0) children.set(call.index, { pid: child, sharesDirectory: call.sharesDirectory });
  }
  return children;
}

/**
 * The first line of an strace log (`tracedArgv`) in which a process of the run touched the worktree's
 * `tools/generated/` (opened, listed, stat'ed, checked for, executed or bound into a sandbox anything at or under
 * it, or went through a descriptor of it) or the worktree's git state (its `.git`, the worktree's git folder with
 * HEAD and the index of the judged commit); undefined when none did. Paths relative to a working directory are
 * resolved against each process's, followed from `cwd` (where the traced command started) through forks and
 * changes of directory. Where the log cannot say, it counts: a relative path of a process whose directory is not
 * known counts when one of its parts is `generated`, and setting up io_uring (which reads files without a syscall
 * per file) counts whatever it names.
 */
export function firstFolderAccess(trace: string, worktree: string, cwd: string = worktree): string | undefined {
  const places = watchedPlaces(worktree);
  const touches = (path: string) => places.some((place) => within(normalize(path), place));
  const escaped = places.map((place) => new RegExp(`${place.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=$|[/"'\\s=:,])`));
  const mentions = (text: string) => escaped.some((pattern) => pattern.test(text));
  const lines = trace.split("\n");
  const children = childrenByLine(lines);
  // Each process's working directory; processes made with CLONE_FS (threads) share one cell with their parent.
  const directories = new Map<string, { path: string | undefined }>();
  const pending = new Map<string, string>();
  for (const [index, line] of lines.entries()) {
    const [, pid = "", resumed, called] = LINE.exec(line) ?? [];
    if (!pid) continue;
    if (directories.size === 0) directories.set(pid, { path: resolve(cwd) });
    const directory = directories.get(pid) ?? { path: undefined };
    directories.set(pid, directory);
    const syscall = resumed ?? called ?? "";
    if (syscall === "io_uring_setup") return line;
    const child = children.get(index);
    if (child) directories.set(child.pid, child.sharesDirectory ? directory : { path: directory.path });
    for (const [, at = "", path = ""] of line.matchAll(AT_PAIR)) {
      const name = unquote(path);
      if (touches(isAbsolute(name) ? name : join(unquote(at), name))) return line;
    }
    for (const [, path = ""] of line.matchAll(DECODED_FD)) if (touches(unquote(path))) return line;
    // Paths given relative to a decoded directory were judged above; the rest are absolute or relative to the working directory.
    // A listing's entry names are not paths it opens: listing tools/ shows only that generated/ is there (bun's module
    // resolver lists every folder it imports from); listing anything inside it was caught by its descriptor.
    const listed = syscall === "getdents64" || syscall === "getdents";
    const strings = listed ? [] : [...line.replace(AT_PAIR, "").matchAll(QUOTED)].map(([, text = ""]) => unquote(text));
    for (const [position, value] of strings.entries()) {
      if (mentions(value)) return line;
      // An exec's arguments and environment are not paths it opens (what the program does with them is traced).
      if (syscall === "execve" && position > 0) continue;
      if (isAbsolute(value)) {
        if (touches(value)) return line;
      } else if (directory.path === undefined) {
        if (normalize(value).split("/").includes("generated")) return line;
      } else if (touches(join(directory.path, value))) return line;
    }
    // A relative link target counts from the link's folder.
    const [target = ""] = strings;
    if (syscall === "symlinkat" && !isAbsolute(target)) {
      const [, at = "", link = ""] = new RegExp(AT_PAIR.source).exec(line) ?? [];
      if (at && touches(join(unquote(at), unquote(link), "..", target))) return line;
    }
    if (syscall === "symlink" && strings.length === 2 && directory.path !== undefined && !isAbsolute(target)) {
      if (touches(join(resolve(directory.path, strings[1] ?? ""), "..", target))) return line;
    }
    if (syscall === "chdir" || syscall === "fchdir") {
      const target = syscall === "chdir" ? strings[0] : [...line.matchAll(DECODED_FD)][0]?.[1];
      if (line.includes("<unfinished ...>")) {
        if (target !== undefined) pending.set(pid, target);
        continue;
      }
    }
    const changed =
      syscall === "chdir" || syscall === "fchdir"
        ? resumed
          ? pending.get(pid)
          : syscall === "chdir"
            ? strings[0]
            : [...line.matchAll(DECODED_FD)][0]?.[1]
        : undefined;
    if (changed !== undefined && RETURNED.exec(line)?.[1] === "0") {
      directory.path = isAbsolute(changed) ? normalize(changed) : directory.path === undefined ? undefined : join(directory.path, changed);
      pending.delete(pid);
    }
  }
  return undefined;
}
