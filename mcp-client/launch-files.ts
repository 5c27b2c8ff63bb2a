import { existsSync, lstatSync } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import type { ExecutedPath } from "../workspace/check-change-set.ts";
import { addCommandLine } from "./command-line-plan.ts";
import { addEnvironment } from "./launch-environment.ts";
import { environmentOf, type LaunchPlace, placeOf, toHost } from "./launch-place.ts";
import type { LaunchPlan } from "./launch-plan.ts";
import { codeReach, isCodeFile } from "./workspace-code.ts";

// What a stdio server runs is more than its command line: the program PATH finds for its command, the script an
// interpreter is handed, the package a runner (npx, bunx, uvx) finds in the workspace before it looks anywhere else,
// the package.json script a package manager runs, the files a shell's `-c` string names, the modules Python imports
// from the folder it starts in, what NODE_OPTIONS or LD_PRELOAD load. Anyone who can write the workspace (a model
// through the write view, an unpacked archive) could put code there and have it run as the user at the next start.
// So a confirmation covers those files (mcp-trust.ts), and the write view refuses changes under the paths an
// unsandboxed server runs from (`executedPaths`, passed to checkChangeSet). What that code imports in turn is taken by
// name (workspace-code.ts): a server started from the workspace can load every code file of it.

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
function startingPoints(plan: LaunchPlan, place: LaunchPlace): { path: string; folder: boolean }[] {
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
