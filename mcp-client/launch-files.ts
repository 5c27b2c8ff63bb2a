import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { type McpServerConfig, mcpServerEnvironment } from "../config/mcp-servers.ts";
import { commandEnvironment } from "../sandbox/bwrap-argv.ts";
import { WORKSPACE_MOUNT } from "../sandbox/sandbox-policy.ts";
import type { ExecutedPath } from "../workspace/check-change-set.ts";

// What a stdio server runs is more than its command line: the program PATH finds for its command, the script an
// interpreter is handed, the package a runner (npx, bunx, uvx) finds in the workspace before it looks anywhere else.
// Anyone who can write the workspace (a model through the write view, an unpacked archive) could put code there and
// have it run as the user at the next start. So a confirmation covers those files (mcp-trust.ts), and the write view
// refuses changes under the paths an unsandboxed server runs from (`executedPaths`, passed to checkChangeSet).

/**
 * What a start of the server depends on: `files` (each followed through its links, every link recorded), `trees`
 * (folders taken whole: every entry, bounded) and `facts` (what a file says that matters, by label), all host paths.
 */
export type LaunchPlan = { files: string[]; trees: string[]; facts: Record<string, string> };

const INTERPRETER = /^(node|nodejs|bun|deno|tsx|ts-node|python[0-9.]*|pypy[0-9.]*|sh|bash|dash|zsh|ruby|perl)$/;
const PYTHON = /^(python[0-9.]*|pypy[0-9.]*)$/;
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
const PACKAGE_FLAGS = new Set(["-p", "--package", "--from", "--with"]);
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
const CODE_FILE = /\.(c?js|mjs|c?ts|mts|jsx|tsx|py[cw]?|sh|bash|rb|pl|php|lua|jar)$/;

/** Where a server's paths are read from: its cwd and PATH, and how a path it names maps to the host. */
type Place = { cwd: string; path: string[]; toHost: (path: string) => string };

function placeOf(server: McpServerConfig, workspaceDir: string, env: NodeJS.ProcessEnv | undefined): Place {
  const workspace = resolve(workspaceDir);
  const values = mcpServerEnvironment(server, env);
  const own = values.ok ? values.values : {};
  if (server.sandbox !== true) {
    const cwd = workspace;
    // Without PATH, the shell that starts it looks in its own default folders.
    return { cwd, path: (own.PATH ?? DEFAULT_PATH).split(":"), toHost: (path) => resolve(cwd, path) };
  }
  // In the sandbox the workspace is /workspace (where it starts); other paths are the host's, bound read-only.
  const toHost = (path: string) => {
    const inside = resolve(WORKSPACE_MOUNT, path);
    return inside === WORKSPACE_MOUNT || inside.startsWith(`${WORKSPACE_MOUNT}/`) ? join(workspace, inside.slice(WORKSPACE_MOUNT.length)) : inside;
  };
  return { cwd: WORKSPACE_MOUNT, path: (commandEnvironment(own).PATH ?? "").split(":"), toHost };
}

/** The files, folders and facts a stdio server's start depends on (nothing for an HTTP server). */
export function launchPlan(server: McpServerConfig, workspaceDir: string, env?: NodeJS.ProcessEnv): LaunchPlan {
  const plan: LaunchPlan = { files: [], trees: [], facts: {} };
  if (server.transport !== "stdio" || !server.command) return plan;
  const place = placeOf(server, workspaceDir, env);
  plan.files.push(...commandCandidates(server.command, place));
  const args = server.args ?? [];
  const name = programName(server.command);
  const runner = RUNNERS[name];
  const subcommand = runner?.subcommands ? firstPositional(args) : undefined;
  if (runner && (!runner.subcommands || (subcommand !== undefined && runner.subcommands.includes(args[subcommand] ?? "")))) {
    addRunnerPackage(plan, runner.kind, args.slice(subcommand === undefined ? 0 : subcommand + 1), place, resolve(workspaceDir));
  } else if (INTERPRETER.test(name)) addScript(plan, name, args, place);
  for (const arg of args) addCodeFile(plan, arg, place);
  plan.files = [...new Set(plan.files)];
  plan.trees = [...new Set(plan.trees)];
  return plan;
}

/** The program a command names, as a runner or interpreter is known: its file name, without a Windows-style `.exe`. */
function programName(command: string): string {
  return basename(command).replace(/\.exe$/i, "");
}

/** Where the shell looks for `command`: each PATH entry's candidate up to the first program there (or its path when it names one). */
function commandCandidates(command: string, place: Place): string[] {
  if (command.includes("/")) return [place.toHost(command)];
  const candidates: string[] = [];
  for (const entry of place.path) {
    const candidate = place.toHost(join(entry === "" ? "." : entry, command));
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

/** The index of the first argument that is not a flag (nor a flag's value), if any. */
function firstPositional(args: readonly string[]): number | undefined {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "--") return index + 1 < args.length ? index + 1 : undefined;
    if (VALUE_FLAGS.has(arg) || PACKAGE_FLAGS.has(arg)) index += 1;
    else if (!arg.startsWith("-")) return index;
  }
  return undefined;
}

/** An interpreter's script (its first positional argument), or for Python `-m`, where the module is looked for first. */
function addScript(plan: LaunchPlan, name: string, args: readonly string[], place: Place): void {
  if (args.some((arg) => INLINE_CODE.has(arg) && !(name === "bun" && arg === "-p"))) return;
  const module = args.indexOf("-m");
  if (PYTHON.test(name) && module >= 0 && args[module + 1] !== undefined) {
    // `-m` puts the working folder first on sys.path: the module, or a package of its first name, is found there first.
    const parts = (args[module + 1] ?? "").split(".");
    const top = place.toHost(parts[0] ?? "");
    plan.files.push(`${top}.py`, join(top, "__init__.py"), `${place.toHost(parts.join("/"))}.py`, join(place.toHost(parts.join("/")), "__main__.py"));
    return;
  }
  const rest = (name === "bun" || name === "deno") && args[0] === "run" ? args.slice(1) : args;
  const at = firstPositional(rest);
  if (at !== undefined) plan.files.push(place.toHost(rest[at] ?? ""));
}

/** An argument (or the value after a flag's `=`) naming a file of code, or an executable file: it may be loaded. */
function addCodeFile(plan: LaunchPlan, arg: string, place: Place): void {
  const value = arg.startsWith("-") && arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : arg;
  if (value === "" || value.startsWith("-") || value.includes("\0")) return;
  const path = place.toHost(value);
  try {
    const stat = statSync(path);
    if (stat.isFile() && (CODE_FILE.test(path) || (stat.mode & 0o111) !== 0)) plan.files.push(path);
  } catch {
    // Not a file: a word, a URL, a folder the server works on.
  }
}

/** The package a runner runs: its name without a version; where it is looked for in the workspace before anywhere else. */
function addRunnerPackage(plan: LaunchPlan, kind: "node" | "python", args: readonly string[], place: Place, workspace: string): void {
  const flagged = args.findIndex((arg) => PACKAGE_FLAGS.has(arg));
  const inline = args.find((arg) => [...PACKAGE_FLAGS].some((flag) => arg.startsWith(`${flag}=`)));
  const at = firstPositional(args);
  const spec = flagged >= 0 ? args[flagged + 1] : inline !== undefined ? inline.slice(inline.indexOf("=") + 1) : at !== undefined ? args[at] : undefined;
  if (spec === undefined) return;
  if (/^(\.{1,2}\/|\/|file:)/.test(spec)) {
    // A package in a folder: all of it is what runs.
    plan.trees.push(place.toHost(spec.replace(/^file:/, "")));
    return;
  }
  if (kind !== "node") return;
  const name = spec.replace(/^(@[^/@]+\/[^/@]+|[^/@]+)@.*$/, "$1");
  // npm exec, bunx and the others look in the project's node_modules first, and put its .bin first on the PATH of what
  // they run (a `node` there is the node a package's `#!/usr/bin/env node` gets).
  plan.trees.push(join(workspace, "node_modules", ".bin"), join(workspace, "node_modules", name));
  plan.files.push(join(workspace, "node_modules", name, "package.json"));
  // The project itself, when it bears the package's name, is the package.
  plan.facts[`${join(workspace, "package.json")} names ${name}`] = String(packageName(join(workspace, "package.json")) === name);
}

function packageName(path: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8").slice(0, 1024 * 1024));
    return typeof parsed === "object" && parsed !== null && "name" in parsed && typeof parsed.name === "string" ? parsed.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The paths under the workspace an unsandboxed stdio server runs from, as workspace-relative patterns for the write
 * view to refuse: the workspace's `node_modules`, `.venv` and `.bin`; every file and folder its launch plan names
 * there; the folder of its script (a script's own imports sit beside it; Python's first look is there); the PATH
 * entries inside the workspace. An HTTP or sandboxed server has none (a sandboxed one runs what it runs in the sandbox).
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
  for (const entry of placeOf(server, workspaceDir, env).path) {
    const rel = inside(resolve(workspace, entry === "" ? "." : entry));
    if (rel !== undefined) patterns.push(rel === "" ? "**" : `${rel}/**`);
  }
  if (
    /^(uv|python[0-9.]*|pypy[0-9.]*)$/.test(programName(server.command ?? "")) &&
    plan.files.some((file) => inside(file) !== undefined && !inside(file)?.includes("/"))
  )
    // A script or module at the top: Python looks for every module it imports there first, the standard library's too.
    patterns.push("/*.py", "/*.pyc", "/*.so", "/*/__init__.py");
  // A pattern inside a folder another one takes whole says nothing more.
  const wholes = patterns.filter((pattern) => pattern.endsWith("/**")).map((pattern) => pattern.slice(0, -2));
  return [...new Set(patterns)].filter((pattern) => !wholes.some((whole) => pattern !== `${whole}**` && pattern.startsWith(whole)));
}

/** What the write view refuses for the room's servers: the paths each unsandboxed stdio server runs from, and which. */
export function mcpExecutedPaths(servers: readonly McpServerConfig[], workspaceDir: string, env?: NodeJS.ProcessEnv): ExecutedPath[] {
  return servers.flatMap((server) => executedPaths(server, workspaceDir, env).map((pattern) => ({ pattern, by: `the unsandboxed MCP server ${server.name}` })));
}
