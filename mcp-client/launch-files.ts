import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { type McpServerConfig, mcpServerEnvironment } from "../config/mcp-servers.ts";
import { commandEnvironment } from "../sandbox/bwrap-argv.ts";
import { WORKSPACE_MOUNT } from "../sandbox/sandbox-policy.ts";
import type { ExecutedPath } from "../workspace/check-change-set.ts";
import { shellCommands } from "./shell-commands.ts";
import { type CodeReach, codeReach, isCodeFile } from "./workspace-code.ts";

// What a stdio server runs is more than its command line: the program PATH finds for its command, the script an
// interpreter is handed, the package a runner (npx, bunx, uvx) finds in the workspace before it looks anywhere else,
// the package.json script a package manager runs, the files a shell's `-c` string names, the modules Python imports
// from the folder it starts in, what NODE_OPTIONS or LD_PRELOAD load. Anyone who can write the workspace (a model
// through the write view, an unpacked archive) could put code there and have it run as the user at the next start.
// So a confirmation covers those files (mcp-trust.ts), and the write view refuses changes under the paths an
// unsandboxed server runs from (`executedPaths`, passed to checkChangeSet). What that code imports in turn is taken by
// name (workspace-code.ts): a server started from the workspace can load every code file of it.

/**
 * What a start of the server depends on: `files` (each followed through its links, every link recorded, absent ones
 * too), `trees` (folders taken whole: every entry, bounded), `moduleFolders` (folders whose top-level modules an
 * interpreter imports before its own: each `*.py`, `*.pyc`, `*.so` and package `__init__.py` there) and `facts` (what
 * a file says that matters, by label), all host paths; `reaches`, folders it runs code from that no file names; and for
 * an unsandboxed server started from the workspace, `code`: what of the workspace it can load (`workspace-code.ts`).
 */
export type LaunchPlan = {
  files: string[];
  trees: string[];
  moduleFolders: string[];
  facts: Record<string, string>;
  /** Folders the launch runs code relative to without naming a file: inline code's working folder, a project a runner runs. */
  reaches: string[];
  /** Files of the workspace the launch hands the server by name that are not code (`--db notes.db`): its own data, which it writes. */
  data: string[];
  code?: CodeReach;
};

const INTERPRETER = /^(node|nodejs|bun|deno|tsx|ts-node|python[0-9.]*|pypy[0-9.]*|sh|bash|dash|zsh|ksh|ash|ruby|perl)$/;
const PYTHON = /^(python[0-9.]*|pypy[0-9.]*)$/;
const SHELL = /^(sh|bash|dash|zsh|ksh|ash)$/;
// Flags whose value is the next argument (a file to load, a setting), not the script.
const VALUE_FLAGS = new Set([
  "-r",
  "--require",
  "--import",
  "--loader",
  "--experimental-loader",
  "--preload",
  "-C",
  "--conditions",
  "--config",
  "-W",
  "-X",
  "--cwd",
]);
// Of those, the flags whose value is code loaded before the script (node's, bun's, NODE_OPTIONS').
const LOADING_FLAGS = new Set(["-r", "--require", "--import", "--loader", "--experimental-loader", "--preload"]);
// Code given on the command line: no script follows.
const INLINE_CODE = new Set(["-e", "--eval", "-p", "--print", "-c"]);
// Package runners and the subcommand that makes a package manager one (`npm exec`, `bun x`).
const RUNNERS: Record<string, { subcommands?: readonly string[]; kind: "node" | "python" }> = {
  npx: { kind: "node" },
  bunx: { kind: "node" },
  pnpx: { kind: "node" },
  npm: { subcommands: ["exec", "x"], kind: "node" },
  pnpm: { subcommands: ["dlx", "exec"], kind: "node" },
  yarn: { subcommands: ["dlx", "exec"], kind: "node" },
  bun: { subcommands: ["x"], kind: "node" },
  uvx: { kind: "python" },
  uv: { subcommands: ["run", "tool"], kind: "python" },
};
// What each package manager reads from the project before it runs anything: its settings (a shell for scripts, node
// options, a preload, a release of itself to run) and the code it loads.
const MANAGER_FILES: Record<string, { files: readonly string[]; trees?: readonly string[] }> = {
  npm: { files: [".npmrc"] },
  npx: { files: [".npmrc"] },
  pnpm: { files: [".npmrc", ".pnpmfile.cjs"] },
  pnpx: { files: [".npmrc", ".pnpmfile.cjs"] },
  yarn: { files: [".yarnrc", ".yarnrc.yml", ".pnp.cjs", ".pnp.loader.mjs"], trees: [".yarn/releases", ".yarn/plugins"] },
  bun: { files: ["bunfig.toml", ".npmrc"] },
  bunx: { files: ["bunfig.toml", ".npmrc"] },
};
// A package manager's subcommands that run a package.json script, and the script each names (undefined: the next word).
const SCRIPT_RUNS: Record<string, Record<string, string | undefined>> = {
  npm: {
    run: undefined,
    "run-script": undefined,
    rum: undefined,
    urn: undefined,
    start: "start",
    test: "test",
    t: "test",
    tst: "test",
    restart: "restart",
    stop: "stop",
  },
  pnpm: { run: undefined, "run-script": undefined, start: "start", test: "test", t: "test", restart: "restart", stop: "stop" },
  yarn: { run: undefined, start: "start", test: "test", restart: "restart", stop: "stop" },
  bun: { run: undefined },
};
// Programs that run the command after their own flags (and, for env, NAME=value words; for timeout, a duration), and
// their flags that take a value.
const WRAPPERS: Record<string, ReadonlySet<string>> = {
  env: new Set(["-u", "--unset", "-C", "--chdir"]),
  exec: new Set(["-a"]),
  command: new Set(),
  nohup: new Set(),
  nice: new Set(["-n", "--adjustment"]),
  time: new Set(["-f", "--format", "-o", "--output"]),
  timeout: new Set(["-s", "--signal", "-k", "--kill-after"]),
  stdbuf: new Set(["-i", "-o", "-e"]),
  setsid: new Set(),
};
const PACKAGE_FLAGS = new Set(["-p", "--package", "--from", "--with"]);
// Programs that build or run the project in their working folder (its sources, its environment with the project
// installed in it, its Makefile), and the subcommand that does it ("any": whatever it is asked).
const PROJECT_RUNS: Record<string, readonly string[] | "any"> = {
  uv: ["run"],
  poetry: ["run"],
  pipenv: ["run"],
  pdm: ["run"],
  hatch: ["run"],
  rye: ["run"],
  pixi: ["run"],
  cargo: ["run"],
  go: ["run"],
  dotnet: ["run"],
  make: "any",
  just: "any",
  task: "any",
};
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
const CODE_FILE = /\.(c?js|mjs|c?ts|mts|jsx|tsx|py[cw]?|sh|bash|rb|pl|php|lua|jar|so)$/;
/** How deep a command may start another (a script that runs a script), as far as a plan follows it. */
const MAX_DEPTH = 4;

/** Where a server's paths are read from: its working folder and PATH as it sees them, and how a path it names maps to the host. */
type Place = { cwd: string; path: string[]; hostOf: (absolute: string) => string; depth: number };

/** A path the server names (relative to its working folder), on the host. */
const toHost = (place: Place, path: string) => place.hostOf(resolve(place.cwd, path));

function placeOf(server: McpServerConfig, workspaceDir: string, values: Record<string, string>): Place {
  const workspace = resolve(workspaceDir);
  // Without PATH, the shell that starts it looks in its own default folders.
  if (server.sandbox !== true) return { cwd: workspace, path: (values.PATH ?? DEFAULT_PATH).split(":"), hostOf: (path) => path, depth: 0 };
  // In the sandbox the workspace is /workspace (where it starts); other paths are the host's, bound read-only.
  const hostOf = (inside: string) =>
    inside === WORKSPACE_MOUNT || inside.startsWith(`${WORKSPACE_MOUNT}/`) ? join(workspace, inside.slice(WORKSPACE_MOUNT.length)) : inside;
  return { cwd: WORKSPACE_MOUNT, path: (commandEnvironment(values).PATH ?? "").split(":"), hostOf, depth: 0 };
}

/** The server's own environment with its `${VAR}`s filled in (none when one is unset: it will not start). */
function environmentOf(server: McpServerConfig, env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const values = mcpServerEnvironment(server, env);
  return values.ok ? values.values : {};
}

/** The files, folders and facts a stdio server's start depends on (nothing for an HTTP server). */
export function launchPlan(server: McpServerConfig, workspaceDir: string, env?: NodeJS.ProcessEnv): LaunchPlan {
  const plan: LaunchPlan = { files: [], trees: [], moduleFolders: [], facts: {}, reaches: [], data: [] };
  if (server.transport !== "stdio" || !server.command) return plan;
  const values = environmentOf(server, env);
  const place = placeOf(server, workspaceDir, values);
  addEnvironment(plan, server.env ? Object.fromEntries(Object.keys(server.env).map((name) => [name, values[name] ?? ""])) : {}, place);
  addCommandLine(plan, server.command, server.args ?? [], place);
  plan.files = [...new Set(plan.files)];
  plan.trees = [...new Set(plan.trees)];
  plan.moduleFolders = [...new Set(plan.moduleFolders)];
  if (server.sandbox !== true) {
    const code = codeReach(resolve(workspaceDir), startingPoints(plan, place));
    if (code) plan.code = code;
  }
  return plan;
}

// A package manager's settings: read from the workspace, but no code of it (what they load is followed as its own path).
const SETTINGS_ONLY = /^(package\.json|\.npmrc|bunfig\.toml|\.yarnrc(\.yml)?|pyproject\.toml|uv\.toml|uv\.lock)$/;

/**
 * The paths of a plan that exist and run: its files (a package manager's settings aside), folders and module folders,
 * the PATH entries it looks in, and the workspace itself when it is the package a runner runs.
 */
function startingPoints(plan: LaunchPlan, place: Place): { path: string; folder: boolean }[] {
  const points: { path: string; folder: boolean }[] = [];
  const exists = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  for (const file of plan.files) if (!SETTINGS_ONLY.test(basename(file)) && exists(file)) points.push({ path: file, folder: false });
  for (const folder of [
    ...plan.trees,
    ...plan.moduleFolders,
    ...plan.reaches,
    ...place.path.map((entry) => toHost(place, entry === "" ? "." : entry)),
  ])
    if (exists(folder)) points.push({ path: folder, folder: true });
  // `<package.json> names <package>`, true: the project itself is the package the runner runs.
  for (const [label, value] of Object.entries(plan.facts))
    if (value === "true" && label.includes(" names ")) points.push({ path: dirname(label.slice(0, label.lastIndexOf(" names "))), folder: true });
  return points;
}

/** One command and its arguments: the program, and what it loads by what it is (runner, package manager, interpreter, shell, wrapper). */
function addCommandLine(plan: LaunchPlan, command: string, args: readonly string[], place: Place): void {
  if (place.depth > MAX_DEPTH || command === "" || command.includes("$")) return;
  const candidates = commandCandidates(command, place);
  plan.files.push(...candidates);
  // A script run as a program (`./run.sh`, `#!/bin/sh` first): what it sources and runs is followed as a shell's.
  const program = candidates.at(-1);
  if (program !== undefined && isProgram(program) && isShellScript(program)) addShellFile(plan, program, place);
  const name = programName(command);
  for (const file of MANAGER_FILES[name]?.files ?? []) plan.files.push(toHost(place, file));
  for (const tree of MANAGER_FILES[name]?.trees ?? []) plan.trees.push(toHost(place, tree));
  const runner = RUNNERS[name];
  const subcommand = firstPositional(args);
  const inner = { ...place, depth: place.depth + 1 };
  const inlineCode = args.some((arg) => INLINE_CODE.has(arg));
  if (WRAPPERS[name]) addWrapped(plan, name, args, inner);
  else if (runner && (!runner.subcommands || (subcommand !== undefined && runner.subcommands.includes(args[subcommand] ?? "")))) {
    addRunnerPackage(plan, runner.kind, args.slice(runner.subcommands ? (subcommand ?? 0) + 1 : 0), place);
  } else if (SCRIPT_RUNS[name] && !inlineCode && !(name === "bun" && isFileArgument(args, subcommand, place)))
    addPackageScript(plan, name, args, inner);
  else if (SHELL.test(name) && shellString(args) !== undefined) addShellScript(plan, shellString(args) ?? "", inner);
  else if (INTERPRETER.test(name)) addScript(plan, name, args, place);
  const run = PROJECT_RUNS[name];
  if (run !== undefined && (run === "any" || run.includes(args[subcommand ?? -1] ?? ""))) plan.reaches.push(toHost(place, "."));
  for (const arg of args) addCodeFile(plan, arg, place);
}

/** The program a command names, as a runner or interpreter is known: its file name, without a Windows-style `.exe`. */
function programName(command: string): string {
  return basename(command).replace(/\.exe$/i, "");
}

/** Where the shell looks for `command`: each PATH entry's candidate up to the first program there (or its path when it names one). */
function commandCandidates(command: string, place: Place): string[] {
  if (command.includes("/")) return [toHost(place, command)];
  const candidates: string[] = [];
  for (const entry of place.path) {
    const candidate = toHost(place, join(entry === "" ? "." : entry, command));
    candidates.push(candidate);
    if (isProgram(candidate)) break;
  }
  return candidates;
}

function isProgram(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The index of the first argument at or after `from` that is not a flag (nor a flag's value), if any. */
function firstPositional(args: readonly string[], from = 0): number | undefined {
  for (let index = from; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "--") return index + 1 < args.length ? index + 1 : undefined;
    if (VALUE_FLAGS.has(arg) || PACKAGE_FLAGS.has(arg)) index += 1;
    else if (!arg.startsWith("-")) return index;
  }
  return undefined;
}

/** `env A=1 node x.js`, `nice -n 5 node x.js`, `timeout 60 node x.js`, `env -S 'node x.js'`: the command after the wrapper's own words. */
function addWrapped(plan: LaunchPlan, name: string, args: readonly string[], place: Place): void {
  const valueFlags = WRAPPERS[name] ?? new Set<string>();
  const assigned: Record<string, string> = {};
  let duration = name === "timeout";
  let index = 0;
  for (; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    const assignment = name === "env" ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg) : null;
    if (arg === "--") {
      index += 1;
      break;
    }
    if (assignment) assigned[assignment[1] ?? ""] = assignment[2] ?? "";
    else if (name === "env" && (arg === "-S" || arg === "--split-string")) {
      // The string is split into the command and its first arguments, as a shell would.
      addEnvironment(plan, assigned, place);
      addShellScript(plan, args.slice(index + 1).join(" "), place);
      return;
    } else if (valueFlags.has(arg)) index += 1;
    else if (arg.startsWith("-")) continue;
    else if (duration) duration = false;
    else break;
  }
  addEnvironment(plan, assigned, place);
  const [command, ...rest] = args.slice(index);
  if (command !== undefined) addCommandLine(plan, command, rest, place);
}

/** The string a shell runs with `-c` (or `-ec`, `-lc`, …): the first argument after its flags. */
function shellString(args: readonly string[]): string | undefined {
  const flag = args.findIndex((arg) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(arg));
  if (flag === -1) return undefined;
  return args.slice(flag + 1).find((arg) => !arg.startsWith("-"));
}

/**
 * A shell's command string: each of its commands as a command line (with `NAME=value` before one as its environment,
 * `cd DIR` moving the folder the next ones start in), and every word that names a file of code.
 */
function addShellScript(plan: LaunchPlan, text: string, start: Place): void {
  if (start.depth > MAX_DEPTH) return;
  let place = start;
  for (const words of shellCommands(text)) {
    let index = 0;
    const assigned: Record<string, string> = {};
    for (
      let match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[0] ?? "");
      match;
      match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[++index] ?? "")
    )
      assigned[match[1] ?? ""] = match[2] ?? "";
    addEnvironment(plan, assigned, place);
    const [command, ...args] = words.slice(index);
    if (command === undefined) continue;
    if (command === "cd" && args[0] !== undefined && !args[0].includes("$")) place = { ...place, cwd: resolve(place.cwd, args[0]) };
    else if ((command === "." || command === "source") && args[0] !== undefined) {
      plan.files.push(toHost(place, args[0]));
      if (!args[0].includes("$")) addShellFile(plan, toHost(place, args[0]), place);
    } else addCommandLine(plan, command, args, place);
  }
}

/** Bytes of a script read to follow what it sources and runs. */
const MAX_SCRIPT_BYTES = 64 * 1024;

/**
 * A shell script's own commands, read from its file one level deeper: what it sources (a file sourced by a sourced
 * file too, to the depth bound) and runs. Sourced files keep the shell's working folder, as a shell does.
 */
function addShellFile(plan: LaunchPlan, path: string, place: Place): void {
  const text = scriptHead(path);
  if (text !== undefined) addShellScript(plan, text, { ...place, depth: place.depth + 1 });
}

/** The first `bytes` of a plain file, as text (read without blocking: a FIFO gives nothing); undefined when there is none. */
function scriptHead(path: string, bytes = MAX_SCRIPT_BYTES): string | undefined {
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
function isShellScript(path: string): boolean {
  const first = scriptHead(path, 256)?.split("\n", 1)[0] ?? "";
  if (!first.startsWith("#!")) return false;
  const words = first.slice(2).trim().split(/\s+/);
  const program = basename(words[0] ?? "") === "env" ? words.slice(1).find((word) => !word.startsWith("-")) : words[0];
  return SHELL.test(basename(program ?? ""));
}

/**
 * `npm run NAME` (`npm start`, `pnpm NAME`, `yarn NAME`, `bun run NAME`): the project's package.json, and what the
 * script and its `pre`/`post` scripts run, with the project's `node_modules/.bin` first on PATH.
 */
function addPackageScript(plan: LaunchPlan, manager: string, args: readonly string[], place: Place): void {
  const at = firstPositional(args);
  if (at === undefined) return;
  const runs = SCRIPT_RUNS[manager] ?? {};
  const word = args[at] ?? "";
  // pnpm and yarn run a script named as their first word; so does bun, when no file has that name.
  const script = word in runs ? (runs[word] ?? args[firstPositional(args, at + 1) ?? -1]) : manager === "npm" ? undefined : word;
  if (script === undefined) return;
  const manifest = toHost(place, "package.json");
  plan.files.push(manifest);
  const scripts = packageScripts(manifest);
  const inside = { ...place, path: [resolve(place.cwd, "node_modules/.bin"), ...place.path] };
  for (const name of [`pre${script}`, script, `post${script}`]) {
    const text = scripts[name];
    if (text !== undefined) addShellScript(plan, text, inside);
  }
}

/** Whether `bun run X` (or `bun X`) names a file rather than a script: X has a path or a code file's name. */
function isFileArgument(args: readonly string[], at: number | undefined, place: Place): boolean {
  const word = at === undefined ? undefined : args[at] === "run" ? args[firstPositional(args, at + 1) ?? -1] : args[at];
  if (word === undefined) return false;
  return word.includes("/") || CODE_FILE.test(word) || (existsSync(toHost(place, word)) && !statSync(toHost(place, word)).isDirectory());
}

/** A package.json's `scripts` (none when it cannot be read). */
function packageScripts(path: string): Record<string, string> {
  const parsed = packageJson(path);
  const scripts = parsed?.scripts;
  if (typeof scripts !== "object" || scripts === null) return {};
  return Object.fromEntries(Object.entries(scripts).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

/** What org reads of a package.json: its name and scripts (undefined when it cannot be read). */
function packageJson(path: string): { name: unknown; scripts: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8").slice(0, 1024 * 1024));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    return { name: "name" in parsed ? parsed.name : undefined, scripts: "scripts" in parsed ? parsed.scripts : undefined };
  } catch {
    return undefined;
  }
}

/**
 * An interpreter's script (its first positional argument); code given inline (`-c`, `-e`) and the files it names;
 * for Python, the folder it imports from first: the script's, or its working folder for `-m`, `-c` or none.
 */
function addScript(plan: LaunchPlan, name: string, args: readonly string[], place: Place): void {
  const python = PYTHON.test(name);
  const inline = args.findIndex((arg) => INLINE_CODE.has(arg) && !(name === "bun" && arg === "-p"));
  const module = args.indexOf("-m");
  if (inline >= 0) {
    // Inline code's relative imports start from its working folder: whatever lies there, it can load.
    plan.reaches.push(toHost(place, "."));
    for (const words of shellCommands(args[inline + 1] ?? "")) for (const word of words) addCodeFile(plan, word, place, true);
    if (python) plan.moduleFolders.push(toHost(place, "."));
    return;
  }
  if (python && module >= 0 && args[module + 1] !== undefined) {
    // `-m` puts the working folder first on sys.path: the module, or a package of its first name, is found there first.
    const parts = (args[module + 1] ?? "").split(".");
    const top = toHost(place, parts[0] ?? "");
    plan.files.push(
      `${top}.py`,
      join(top, "__init__.py"),
      `${toHost(place, parts.join("/"))}.py`,
      join(toHost(place, parts.join("/")), "__main__.py"),
    );
    plan.moduleFolders.push(toHost(place, "."));
    return;
  }
  const rest = (name === "bun" || name === "deno") && args[0] === "run" ? args.slice(1) : args;
  const at = firstPositional(rest);
  if (at !== undefined) plan.files.push(toHost(place, rest[at] ?? ""));
  if (at !== undefined && SHELL.test(name)) addShellFile(plan, toHost(place, rest[at] ?? ""), place);
  if (python) plan.moduleFolders.push(at === undefined ? toHost(place, ".") : dirname(toHost(place, rest[at] ?? "")));
}

/**
 * An argument (or the value after a flag's `=`) naming a file of code, or an executable file: it may be loaded. With
 * `named`, a word that only looks like a path to code (`./hook.mjs`, `lib/x.py`) counts while it does not exist yet.
 */
function addCodeFile(plan: LaunchPlan, arg: string, place: Place, named = false): void {
  const value = arg.startsWith("-") && arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : arg;
  if (value === "" || value.startsWith("-") || value.includes("\0") || value.includes("$")) return;
  const path = toHost(place, value);
  try {
    const stat = statSync(path);
    if (stat.isFile() && (CODE_FILE.test(path) || (stat.mode & 0o111) !== 0)) plan.files.push(path);
    // Only the launch line itself says what is data: a script's own words may hand a file to an interpreter.
    else if (stat.isFile() && place.depth === 0) plan.data.push(path);
  } catch {
    // Not a file: a word, a URL, a folder the server works on; or code not written yet.
    if (named && CODE_FILE.test(value) && !/^[a-z][a-z0-9+.-]*:/i.test(value)) plan.files.push(path);
  }
}

/**
 * What a server's own environment makes it load (its `env`, a shell's `NAME=value`): NODE_OPTIONS' `--require`,
 * `--import` and loaders, NODE_PATH, PYTHONPATH (its folders' modules), PYTHONSTARTUP, PYTHONHOME, LD_PRELOAD,
 * LD_LIBRARY_PATH, BASH_ENV and ENV, PERL5LIB, PERLLIB, RUBYLIB, RUBYOPT's and PERL5OPT's `-r`/`-I`; and any value
 * that names a file of code. Relative paths are read from where the server starts.
 */
function addEnvironment(plan: LaunchPlan, env: Record<string, string>, place: Place): void {
  const list = (value: string) => value.split(":").filter((entry) => entry !== "" && !entry.includes("$"));
  for (const [name, value] of Object.entries(env)) {
    if (name === "NODE_OPTIONS" || name === "BUN_OPTIONS") {
      const words = value.split(/\s+/);
      words.forEach((word, index) => {
        const [flag, inline] = word.includes("=") ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)] : [word, words[index + 1]];
        if (LOADING_FLAGS.has(flag ?? "") && inline !== undefined) addLoaded(plan, inline, place);
      });
    } else if (name === "NODE_PATH" || /^(PERL5LIB|PERLLIB|RUBYLIB|LD_LIBRARY_PATH|PYTHONHOME|PYTHONUSERBASE)$/.test(name))
      for (const entry of list(value)) plan.trees.push(toHost(place, entry));
    else if (name === "PYTHONPATH") for (const entry of list(value)) plan.moduleFolders.push(toHost(place, entry));
    else if (/^(PYTHONSTARTUP|BASH_ENV|ENV)$/.test(name)) plan.files.push(toHost(place, value));
    else if (name === "LD_PRELOAD") for (const entry of value.split(/[\s:]+/).filter(Boolean)) plan.files.push(toHost(place, entry));
    else if (name === "RUBYOPT" || name === "PERL5OPT") {
      for (const word of value.split(/\s+/)) {
        const flag = /^-([rI])(.+)$/.exec(word);
        if (flag?.[1] === "I") plan.trees.push(toHost(place, flag[2] ?? ""));
        else if (flag?.[2]) addCodeFile(plan, flag[2], place, true);
      }
    } else for (const word of value.split(/[\s:,;]+/)) addCodeFile(plan, word, place);
  }
}

/** A module NODE_OPTIONS loads: a file by its path, or a package the workspace's node_modules holds. */
function addLoaded(plan: LaunchPlan, specifier: string, place: Place): void {
  if (/^(\.{1,2}\/|\/|file:)/.test(specifier)) plan.files.push(toHost(place, specifier.replace(/^file:(\/\/)?/, "")));
  else if (!specifier.startsWith("node:")) plan.trees.push(toHost(place, join("node_modules", specifier.replace(/^(@[^/]+\/[^/]+|[^/]+).*$/, "$1"))));
}

/** The package a runner runs: its name without a version; where it is looked for in the workspace before anywhere else. */
function addRunnerPackage(plan: LaunchPlan, kind: "node" | "python", args: readonly string[], place: Place): void {
  const flagged = args.findIndex((arg) => PACKAGE_FLAGS.has(arg));
  const inline = args.find((arg) => [...PACKAGE_FLAGS].some((flag) => arg.startsWith(`${flag}=`)));
  const at = firstPositional(args);
  const spec =
    flagged >= 0 ? args[flagged + 1] : inline !== undefined ? inline.slice(inline.indexOf("=") + 1) : at !== undefined ? args[at] : undefined;
  if (spec === undefined) return;
  if (/^(\.{1,2}\/|\/|file:)/.test(spec) && !CODE_FILE.test(spec)) {
    // A package in a folder: all of it is what runs.
    plan.trees.push(toHost(place, spec.replace(/^file:/, "")));
    return;
  }
  if (kind !== "node") {
    // `uv run server.py` runs a script of the project's with the project's environment; any `uv run` reads its settings.
    for (const file of ["pyproject.toml", "uv.toml", "uv.lock"]) plan.files.push(toHost(place, file));
    if (CODE_FILE.test(spec)) {
      plan.files.push(toHost(place, spec));
      plan.moduleFolders.push(dirname(toHost(place, spec)));
    }
    return;
  }
  const name = spec.replace(/^(@[^/@]+\/[^/@]+|[^/@]+)@.*$/, "$1");
  // npm exec, bunx and the others look in the project's node_modules first, and put its .bin first on the PATH of what
  // they run (a `node` there is the node a package's `#!/usr/bin/env node` gets).
  const modules = toHost(place, "node_modules");
  plan.trees.push(join(modules, ".bin"), join(modules, name));
  plan.files.push(join(modules, name, "package.json"));
  // The project itself, when it bears the package's name, is the package.
  const manifest = toHost(place, "package.json");
  plan.facts[`${manifest} names ${name}`] = String(packageJson(manifest)?.name === name);
}

/**
 * The paths under the workspace an unsandboxed stdio server runs from, as workspace-relative patterns for the write
 * view to refuse: the workspace's `node_modules`, `.venv` and `.bin`; every file and folder its launch plan names
 * there (a package.json whose script it runs, a file a `-c` string names, what NODE_OPTIONS loads, a package
 * manager's settings); the folder of its script (a script's own imports sit beside it); the modules of a folder Python
 * imports from first; the PATH entries inside the workspace. An HTTP or sandboxed server has none (a sandboxed one
 * runs what it runs in the sandbox).
 */
export function executedPaths(server: McpServerConfig, workspaceDir: string, env?: NodeJS.ProcessEnv): string[] {
  if (server.transport !== "stdio" || server.sandbox === true) return [];
  const workspace = resolve(workspaceDir);
  const inside = (path: string) => {
    const rel = relative(workspace, path);
    return rel.startsWith("..") || isAbsolute(rel) ? undefined : rel.split(sep).join("/");
  };
  // A pattern without '/' would match the name in any folder: a top-level name is anchored.
  const anchored = (rel: string) => (rel.includes("/") ? rel : `/${rel}`);
  const under = (rel: string, pattern: string) => (rel === "" ? `/${pattern}` : `${rel}/${pattern}`);
  const patterns = ["node_modules/**", ".venv/**", ".bin/**"];
  const plan = launchPlan(server, workspaceDir, env);
  for (const file of plan.files) {
    const rel = inside(file);
    if (rel === undefined || rel === "") continue;
    patterns.push(anchored(rel));
    const folder = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    if (folder !== "" && existsSync(file)) patterns.push(`${folder}/**`);
  }
  for (const tree of plan.trees) {
    const rel = inside(tree);
    if (rel !== undefined) patterns.push(rel === "" ? "**" : `${rel}/**`);
  }
  for (const folder of plan.moduleFolders) {
    const rel = inside(folder);
    // Python looks there first for every module it imports, the standard library's too.
    if (rel !== undefined) patterns.push(...["*.py", "*.pyc", "*.so", "*/__init__.py"].map((pattern) => under(rel, pattern)));
  }
  for (const entry of placeOf(server, workspaceDir, environmentOf(server, env)).path) {
    const rel = inside(resolve(workspace, entry === "" ? "." : entry));
    if (rel !== undefined) patterns.push(rel === "" ? "**" : `${rel}/**`);
  }
  // The folders it runs from, whole (a sourced file, a data file it evaluates, whatever its name).
  for (const root of plan.code?.roots ?? []) {
    const rel = inside(root);
    if (rel !== undefined) patterns.push(rel === "" ? "**" : `${rel}/**`);
  }
  // A pattern inside a folder another one takes whole says nothing more.
  const wholes = patterns.filter((pattern) => pattern.endsWith("/**")).map((pattern) => pattern.slice(0, -2));
  return [...new Set(patterns)].filter((pattern) => !wholes.some((whole) => pattern !== `${whole}**` && pattern.startsWith(whole)));
}

/**
 * What the write view refuses for the room's servers: the paths each unsandboxed stdio server runs from, and which;
 * for one started from the workspace, every file of it (whatever its name, it may be loaded: `workspace-code.ts`).
 */
export function mcpExecutedPaths(servers: readonly McpServerConfig[], workspaceDir: string, env?: NodeJS.ProcessEnv): ExecutedPath[] {
  const workspace = resolve(workspaceDir);
  return servers.flatMap((server): ExecutedPath[] => {
    const by = `the unsandboxed MCP server ${server.name}`;
    const paths: ExecutedPath[] = executedPaths(server, workspaceDir, env).map((pattern) => ({ pattern, by }));
    const code = server.transport === "stdio" && server.sandbox !== true ? launchPlan(server, workspaceDir, env).code : undefined;
    if (code === undefined) return paths;
    const folders = code.codeUnder.map((folder) => relative(workspace, folder).split(sep).join("/"));
    const under = (path: string) => folders.some((folder) => folder === "" || path === folder || path.startsWith(`${folder}/`));
    const whole = folders.includes("");
    paths.push({
      test: (path) => under(path) && (whole || isCodeFile(path)),
      what: whole
        ? `a file of the workspace, which it runs from (${code.from}) and may load whatever its name; ` +
          'give it "sandbox": true to let the agents change files'
        : `a code file of ${folders.join(", ")}, which it runs from: ${code.from}; give it "sandbox": true to let the agents change code`,
      by,
    });
    return paths;
  });
}
