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
    const probe = Bun.spawnSync([path, "-f", "--seccomp-bpf", "-qq", "--pidns-translation", "-o", "/dev/null", "--", "/bin/sh", "-c", "exit 7"], {
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
 * access, readlink, exec, chdir, mount…), directory listings, io_uring set-ups (which could read files unseen) and
 * descriptors copied (what `/proc/self/fd/N` names), file descriptors decoded to paths (`-y`), strings unabbreviated
 * and an exec's arguments and environment in full, into `output`. Other structures stay abbreviated: a listing's
 * entries or a stat's fields are never read here, and printing them (`-v`) doubled the log and much of the tracer's time.
 */
export function tracedArgv(strace: string, output: string, argv: readonly string[]): string[] {
  return [
    strace,
    "-f",
    "--seccomp-bpf",
    "-qq",
    "-y",
    "--pidns-translation",
    "-e",
    "abbrev=!execve,execveat",
    "-s",
    "65536",
    "-e",
    "trace=%file,%process,fchdir,getdents64,getdents,io_uring_setup,dup,dup2,dup3",
    "-o",
    output,
    "--",
    ...argv,
  ];
}

const QUOTED = /"((?:[^"\\]|\\.)*)"/g;
const DECODED_FD = /(?:\b\d+|AT_FDCWD)<((?:[^>\\]|\\.)*)>/g;
// A descriptor as `-y` shows it, with its number: `7</dir>` (an argument, or what a call returned).
const NUMBERED_FD = /\b(\d+)<((?:[^>\\]|\\.)*)>/g;
// An *at syscall's directory and the path relative to it: `openat(AT_FDCWD</dir>, "rel"` or `newfstatat(7</dir>, "rel"`.
const AT_PAIR = /(?:\b\d+|AT_FDCWD)<((?:[^>\\]|\\.)*)>, "((?:[^"\\]|\\.)*)"/g;
// A path through a process's descriptor or directory, which the kernel resolves: /proc/self/fd/3/x, /proc/42/cwd, /dev/fd/3.
const PROC_PATH = /^\/(?:proc\/(self|thread-self|\d+)(?:\/task\/(\d+))?\/(?:fd\/(\d+)|(cwd)|root)|dev\/fd\/(\d+))(?=\/|$)/;

function unquote(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, code: string) => {
    if (code.startsWith("x")) return String.fromCharCode(Number.parseInt(code.slice(1), 16));
    if (/^[0-7]+$/.test(code)) return String.fromCharCode(Number.parseInt(code, 8));
    return code === "n" ? "\n" : code === "t" ? "\t" : code;
  });
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The worktree's path as given and as the kernel names it (the log shows either). */
function worktreeRoots(worktree: string): string[] {
  const roots = new Set([resolve(worktree)]);
  try {
    roots.add(realpathSync(worktree));
  } catch {}
  return [...roots];
}

/** The places a trace line must not touch for a test to count as not reading the judged tool folders. */
function watchedPlaces(worktree: string): string[] {
  const places: string[] = [];
  for (const root of worktreeRoots(worktree)) {
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

// How many of a syscall's quoted strings (those of its *at pairs apart) are paths it looks up; one when not listed.
const PATH_STRINGS = new Map([
  ...["rename", "link", "symlink", "pivot_root", "mount"].map((name) => [name, 2] as const),
  ...["readlinkat", "getcwd", "fgetxattr", "fsetxattr", "fremovexattr", "flistxattr"].map((name) => [name, 0] as const),
]);

const LINE = /^(\d+)\s+(?:<\.\.\.\s+([a-z0-9_]+) resumed>|([a-z0-9_]+)\()/;
const CREATES = new Set(["clone", "clone3", "fork", "vfork"]);
const RETURNED = /\)\s+=\s+(-?\d+)/;
const TRANSLATED = /\)\s+=\s+\d+ \/\* (\d+) in strace's PID NS \*\//;

type Child = { pid: string; sharesDirectory: boolean; sharesFiles: boolean };

/** For each line that starts a clone, fork or vfork: the new process's pid and whether it shares its parent's working directory and descriptors. */
function childrenByLine(lines: readonly string[]): Map<number, Child> {
  const started = new Map<string, { index: number; sharesDirectory: boolean; sharesFiles: boolean }>();
  const children = new Map<number, Child>();
  for (const [index, line] of lines.entries()) {
    const [, pid = "", resumed, called] = LINE.exec(line) ?? [];
    const syscall = resumed ?? called ?? "";
    if (!CREATES.has(syscall)) continue;
    const call = resumed ? started.get(pid) : { index, sharesDirectory: /\bCLONE_FS\b/.test(line), sharesFiles: /\bCLONE_FILES\b/.test(line) };
    if (!resumed && line.includes("<unfinished ...>") && call) {
      started.set(pid, call);
      continue;
    }
    // A child in another pid namespace (a sandbox's) is logged by its pid in strace's: `= 2 /* 1586 in strace's PID NS */`.
    const child = TRANSLATED.exec(line)?.[1] ?? RETURNED.exec(line)?.[1];
    if (call && child && Number(child) > 0) {
      children.set(call.index, { pid: child, sharesDirectory: call.sharesDirectory, sharesFiles: call.sharesFiles });
    }
  }
  return children;
}

/** The quoted strings of a line, and for an exec's line whether each is among its arguments (the first array) rather than its environment. */
function quotedStrings(line: string): { text: string; inArguments: boolean }[] {
  const found: { text: string; inArguments: boolean }[] = [];
  let opened = 0;
  let closed = 0;
  let from = 0;
  for (const match of line.matchAll(QUOTED)) {
    const gap = line.slice(from, match.index);
    opened += gap.split("[").length - 1;
    closed += gap.split("]").length - 1;
    found.push({ text: unquote(match[1] ?? ""), inArguments: opened === 1 && closed === 0 });
    from = match.index + match[0].length;
  }
  return found;
}

/**
 * What a trace shows of the worktree (`readTrace`). Paths are relative to the worktree ("" is the worktree itself);
 * `node_modules` is never among them.
 */
export type TraceReading = {
  /** The first line in which a process touched the worktree's tools/generated/ or git state; undefined when none did. */
  firstAccess: string | undefined;
  /** Paths a process opened, stat'ed, checked for or executed. */
  touched: Set<string>;
  /** Folders a process listed. */
  listed: Set<string>;
  /** Paths handed on whole (an exec's argument, a mount's source, a link's target): any file under them may be read by another name. */
  handed: Set<string>;
  /**
   * Whether some path could not be placed (a relative path of a process whose directory is unknown, a descriptor the
   * log never showed, io_uring): any file may have been read.
   */
  unplaced: boolean;
};

/**
 * The first line of an strace log (`tracedArgv`) in which a process of the run touched the worktree's
 * `tools/generated/` (opened, listed, stat'ed, checked for, executed or bound into a sandbox anything at or under
 * it, or went through a descriptor of it) or the worktree's git state (its `.git`, the worktree's git folder with
 * HEAD and the index of the judged commit); undefined when none did. See `readTrace`.
 */
export function firstFolderAccess(trace: string, worktree: string, cwd: string = worktree): string | undefined {
  return readTrace(trace, worktree, cwd).firstAccess;
}

/**
 * What a traced run touched of the worktree: the first line that touched its `tools/generated/` or git state
 * (`firstFolderAccess`), and every other path of it, so that a run of later code can tell whether anything this run
 * could have read is different there. Paths relative to a working directory are resolved against each process's,
 * followed from `cwd` (where the traced command started) through forks and changes of directory; a path through a
 * process's descriptor (`/proc/self/fd/N/…`, `/dev/fd/N`) against every path the log showed that descriptor of that
 * process to be. Where the log cannot say, it counts: a relative path of a process whose directory is not known, or
 * through a descriptor it never showed, counts as the folder when one of its parts is `generated` and as any file of
 * the worktree (`unplaced`); setting up io_uring (which reads files without a syscall per file) counts as both.
 */
export function readTrace(trace: string, worktree: string, cwd: string = worktree): TraceReading {
  const lines = trace.split("\n");
  const reader = new TraceReader(worktree, cwd, childrenByLine(lines));
  for (const [index, line] of lines.entries()) reader.read(index, line);
  return reader.reading;
}

/** One process's place as the log tells it: its working directory and the path each descriptor last showed (cells shared by threads). */
type ProcessState = { directory: { path: string | undefined }; fds: Map<string, string> };

/** What `readTrace` keeps while it reads a log line by line: each process's state, and what the lines so far touched. */
class TraceReader {
  readonly reading: TraceReading = { firstAccess: undefined, touched: new Set(), listed: new Set(), handed: new Set(), unplaced: false };
  private readonly places: string[];
  private readonly roots: string[];
  private readonly escaped: RegExp[];
  private readonly rootMentions: RegExp[];
  private readonly processes = new Map<string, ProcessState>();
  private readonly pending = new Map<string, string>();
  // Whether the line being read touched the watched places.
  private first = false;

  constructor(
    worktree: string,
    private readonly cwd: string,
    private readonly children: Map<number, Child>,
  ) {
    this.places = watchedPlaces(worktree);
    this.roots = worktreeRoots(worktree);
    this.escaped = this.places.map((place) => new RegExp(`${escapeRegExp(place)}(?=$|[/"'\\s=:,])`));
    // A path of the worktree named in an argument ends where a path of org's tree cannot go on: a space, a quote, shell syntax.
    this.rootMentions = this.roots.map((root) => new RegExp(`${escapeRegExp(root)}(?:/[^\\s"'=:,;&|<>()$\`]*)?(?=$|[\\s"'=:,;&|<>()$\`])`, "g"));
  }

  /** Reads one line of the log (the `index`th). */
  read(index: number, line: string): void {
    const [, pid = "", resumed, called] = LINE.exec(line) ?? [];
    if (!pid) return;
    if (this.processes.size === 0) this.processes.set(pid, { directory: { path: resolve(this.cwd) }, fds: new Map() });
    const state = this.processes.get(pid) ?? { directory: { path: undefined }, fds: new Map() };
    this.processes.set(pid, state);
    const syscall = resumed ?? called ?? "";
    this.first = false;
    if (syscall === "io_uring_setup") {
      this.reading.unplaced = true;
      this.first = true;
    }
    const child = this.children.get(index);
    if (child) {
      this.processes.set(child.pid, {
        directory: child.sharesDirectory ? state.directory : { path: state.directory.path },
        fds: child.sharesFiles ? state.fds : new Map(state.fds),
      });
    }
    // The descriptors the line shows (an exec's script may hold `4<"$m"`, which is not one).
    for (const [, fd = "", path = ""] of line.replace(QUOTED, '""').matchAll(NUMBERED_FD)) {
      const target = unquote(path);
      if (isAbsolute(target)) state.fds.set(fd, target);
      else state.fds.delete(fd);
    }
    const strings = this.readPaths(line, syscall, state);
    this.readHandedOn(line, syscall, strings, state);
    if (this.first && this.reading.firstAccess === undefined) this.reading.firstAccess = line;
    this.followDirectory(line, pid, resumed !== undefined, syscall, strings, state);
  }

  /** The paths a line names, each touched (or unplaced); returns its quoted strings but those of *at pairs. */
  private readPaths(line: string, syscall: string, state: ProcessState): string[] {
    const listed = syscall === "getdents64" || syscall === "getdents";
    for (const [, at = "", path = ""] of line.matchAll(AT_PAIR)) {
      const name = unquote(path);
      if (this.watched(normalize(unquote(at)))) this.first = true;
      if (isAbsolute(name)) this.place(name, state);
      else this.touch(join(unquote(at), name));
    }
    // A directory given for a relative lookup is not read itself (the lookup was judged above); any other descriptor
    // is: listed, stat'ed, changed into, or what a call opened.
    for (const [, path = ""] of line.replace(AT_PAIR, '"$2"').matchAll(DECODED_FD))
      this.touch(unquote(path), listed ? this.reading.listed : this.reading.touched);
    // Paths given relative to a decoded directory were judged above; the rest are absolute or relative to the working directory.
    // A listing's entry names are not paths it opens: listing tools/ shows only that generated/ is there (bun's module
    // resolver lists every folder it imports from); listing anything inside it was caught by its descriptor.
    const quoted = listed ? [] : quotedStrings(line.replace(AT_PAIR, ""));
    const paths = PATH_STRINGS.get(syscall) ?? 1;
    for (const [position, { text: value, inArguments }] of quoted.entries()) {
      if (this.escaped.some((pattern) => pattern.test(value))) this.first = true;
      // An exec's arguments and environment are not paths it opens (what the program does with them is traced); a
      // path of the worktree among its arguments, or in a mount's options, may be bound into a sandbox, where its
      // files are read by other names.
      if ((syscall === "execve" && inArguments) || (syscall === "mount" && position >= paths)) {
        for (const pattern of this.rootMentions) for (const [mention] of value.matchAll(pattern)) this.touch(mention, this.reading.handed);
      }
      // Past its paths, a line's strings are what a call wrote back (a link's target), attribute names, a mount's type and options.
      if (position >= paths || value === "") continue;
      if (isAbsolute(value)) this.place(value, state);
      else if (state.directory.path === undefined) this.unplaced(value);
      else this.touch(join(state.directory.path, value));
    }
    return quoted.map((entry) => entry.text);
  }

  /**
   * A mount's source is read by the mount point's name from then on; a link's target by the link's name (a relative
   * target counts from the link's folder).
   */
  private readHandedOn(line: string, syscall: string, strings: string[], state: ProcessState): void {
    const [source = ""] = strings;
    const { path: directory } = state.directory;
    if (syscall === "mount" && source !== "") {
      if (isAbsolute(source)) this.place(source, state, this.reading.handed);
      else if (directory !== undefined) this.touch(join(directory, source), this.reading.handed);
    }
    if ((syscall !== "symlink" && syscall !== "symlinkat") || source === "") return;
    let target: string | undefined = isAbsolute(source) ? source : undefined;
    if (target === undefined && syscall === "symlinkat") {
      const [, at = "", link = ""] = new RegExp(AT_PAIR.source).exec(line) ?? [];
      if (at) target = join(unquote(at), unquote(link), "..", source);
    }
    if (target === undefined && syscall === "symlink" && strings.length === 2 && directory !== undefined) {
      target = join(resolve(directory, strings[1] ?? ""), "..", source);
    }
    if (target !== undefined) this.place(target, state, this.reading.handed);
  }

  /** A change of directory that succeeded moves the process (and the threads sharing its cell). */
  private followDirectory(line: string, pid: string, resumed: boolean, syscall: string, strings: string[], state: ProcessState): void {
    if (syscall !== "chdir" && syscall !== "fchdir") return;
    const named = syscall === "chdir" ? strings[0] : [...line.matchAll(DECODED_FD)][0]?.[1];
    if (line.includes("<unfinished ...>")) {
      if (named !== undefined) this.pending.set(pid, named);
      return;
    }
    const changed = resumed ? this.pending.get(pid) : named;
    if (changed === undefined || RETURNED.exec(line)?.[1] !== "0") return;
    const { directory } = state;
    directory.path = isAbsolute(changed) ? normalize(changed) : directory.path === undefined ? undefined : join(directory.path, changed);
    this.pending.delete(pid);
  }

  private watched(path: string): boolean {
    return this.places.some((place) => within(path, place));
  }

  /** A path the line names: the folder or git state makes the line the first access; any other path of the worktree is kept. */
  private touch(path: string, into: Set<string> = this.reading.touched): void {
    const normal = normalize(path);
    if (this.watched(normal)) this.first = true;
    for (const root of this.roots) {
      if (!within(normal, root)) continue;
      const relative = normal.slice(root.length + 1);
      if (relative !== "node_modules" && !relative.startsWith("node_modules/")) into.add(relative);
      return;
    }
  }

  /**
   * An absolute path, through a descriptor or working directory of a process when it names one (`/proc/self/fd/N/…`,
   * `/proc/PID/cwd/…`): that path below what the log last showed it to be, or unplaced when it showed nothing. The
   * descriptor itself (nothing below it) is a file the process opened already, whose path was judged then.
   */
  private place(path: string, state: ProcessState, into?: Set<string>): void {
    const match = PROC_PATH.exec(path);
    if (!match) {
      this.touch(path, into);
      return;
    }
    const [whole, who, thread, fd = match[5], cwd] = match;
    const rest = path.slice(whole.length);
    const owner = who === undefined || who === "self" || who === "thread-self" ? state : this.processes.get(thread ?? who);
    if (rest === "" && !cwd) return;
    const base = fd !== undefined ? owner?.fds.get(fd) : cwd ? owner?.directory.path : undefined;
    if (base === undefined) this.unplaced(path);
    else this.touch(`${base}${rest}`, into);
  }

  private unplaced(path: string): void {
    this.reading.unplaced = true;
    if (normalize(path).split("/").includes("generated")) this.first = true;
  }
}
