import { type Dirent, readdirSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { folded } from "../workspace/check-change-set.ts";
import { patternMatcher } from "../workspace/path-glob.ts";

// A server started from the workspace (its script, a hook, a module folder or a package there) can load any file of it:
// `import("../lib/" + name)`, `require(variable)`, `importlib`, `. "$dir/env"` name nothing a reader of the code could
// follow, and what they load need not be named like code (CommonJS runs a `.txt` as JavaScript, a shell sources a
// `.conf`, Python `exec`s a `.cfg`, make includes a `.mk`). So what it can load is every file of the workspace (only the
// code of its `node_modules`/`.venv`, which the write view refuses whole, and only those for a package run from there).
// Trust hashes them (launch-file-states.ts) and the write view refuses changes to them (launch-files.ts, `mcpExecutedPaths`).

/** Extensions of what an interpreter, a loader or a build a server runs may take as code. */
const CODE_EXTENSIONS = new Set(
  [
    // JavaScript and TypeScript, native addons, WebAssembly.
    "js mjs cjs jsx ts mts cts tsx node wasm",
    // Python: sources, bytecode, extensions, the path files site-packages reads.
    "py pyc pyo pyd pyw pyi pth so dylib dll",
    // Shells and the other interpreters a launch names.
    "sh bash zsh ksh fish rb pl pm php lua tcl",
    // What `go run`, `cargo run` and the JVM compile or load.
    "go rs java kt class jar c cc cpp h hpp",
  ]
    .join(" ")
    .split(" "),
);
/** Files that steer what loads: entry points and import maps, a compiler's paths, the interpreter a version manager picks. */
const STEERING = new RegExp(
  String.raw`^(package\.json|(ts|js)config(\..+)?\.json|deno\.jsonc?|import_map\.json|pyproject\.toml|setup\.cfg|` +
    String.raw`\.python-version|\.tool-versions|\.nvmrc|\.node-version|Cargo\.toml|go\.(mod|work)|Gemfile|bunfig\.toml|` +
    String.raw`\.yarnrc(\.yml)?|\.pnp\.c?js|\.pnp\.loader\.mjs|\.pnpmfile\.cjs)$`,
);

/** Dot files a shell or an interpreter reads as code at its start. */
const STARTUP_FILES = /^\.(bashrc|bash_profile|bash_login|profile|zshrc|zshenv|zprofile|kshrc|envrc|pythonrc|inputrc)$/;

/**
 * Whether a file is code a program may load, by its name alone (a workspace-relative path, `/` between names): a code
 * extension (`.mjs`, `.py`, `.sh`, …, in any case), a file that steers loading (`package.json`, `tsconfig.json`,
 * `.python-version`, …), a shell's startup file (`.bashrc`), or a name with no dot at all (`require("./x")` takes a
 * file `x` before `x.js`; a shell sources any name; `bin/serve`). Other dot files (`.gitignore`, `.DS_Store`) are not.
 */
export function isCodeFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot < 0) return true;
  if (dot === 0) return STEERING.test(name) || STARTUP_FILES.test(name) || STARTUP_FILES.test(name.toLowerCase());
  // Most names are ASCII: lower case is their folded form, without NFKC's cost (a walk asks of every file).
  const plain = /^[\x20-\x7e]*$/.test(name);
  const extension = plain ? name.slice(dot + 1).toLowerCase() : folded(name.slice(dot + 1));
  return CODE_EXTENSIONS.has(extension) || STEERING.test(name) || (!plain && STEERING.test(folded(name)));
}

/**
 * What of the workspace an unsandboxed server started from it can load: every file under each of `codeUnder` (the
 * workspace, whose package folders count by their code files; or those package folders alone, for a package run from
 * there) and every file under each of `roots` (the folders it runs from), all host paths; `from` is a
 * workspace-relative path it runs from, for messages.
 */
export type CodeReach = { workspace: string; codeUnder: string[]; roots: string[]; from: string };

/** Entries a walk of the workspace reads at most; past that the server cannot be covered (and so stays off). */
export const MAX_WALKED_ENTRIES = 1_000_000;

/** Where the packages a runner finds in the workspace live: code run from there reaches only them. */
const PACKAGE_FOLDERS = ["node_modules", ".venv"];

/**
 * The reach of a server whose launch plan names `paths` (files, folders and PATH entries; those that exist only): a
 * path under `node_modules/` or `.venv/` reaches that folder's code (`node_modules/.bin` aside, which the plan takes
 * whole), any other path of the workspace its whole code and, unless it is the workspace itself, its folder whole.
 * Undefined when none is inside the workspace.
 */
export function codeReach(workspace: string, paths: readonly { path: string; folder: boolean }[]): CodeReach | undefined {
  const codeUnder = new Set<string>();
  const roots = new Set<string>();
  let from: string | undefined;
  for (const { path, folder } of paths) {
    const rel = relative(workspace, path);
    if (rel.startsWith("..") || isAbsolute(rel)) continue;
    const parts = rel === "" ? [] : rel.split(sep);
    if (parts[0] === "node_modules" && parts[1] === ".bin") continue;
    const packages = PACKAGE_FOLDERS.find((name) => parts[0] === name);
    from ??= rel === "" ? "." : parts.join("/");
    if (packages !== undefined) {
      codeUnder.add(join(workspace, packages));
      continue;
    }
    codeUnder.add(workspace);
    const root = folder ? path : join(path, "..");
    if (root !== workspace) roots.add(root);
  }
  if (from === undefined) return undefined;
  // The workspace's code takes in its package folders'.
  const under = codeUnder.has(workspace) ? [workspace] : [...codeUnder];
  return { workspace, codeUnder: under, roots: [...roots], from };
}

/**
 * Every file a reach covers, as host paths, sorted: `.git` folders, the workspace's `.org/` and its secret files
 * (`sandbox.secretPaths`' default: the write view never writes them) left out, and the caches a server's own
 * interpreter writes (`__pycache__`, `node_modules/.cache`); of a package folder, its code files. `cut` when the walk
 * read more than `maxEntries` entries: the files past that are not listed.
 */
export function coveredFiles(reach: CodeReach, maxEntries = MAX_WALKED_ENTRIES): { files: string[]; cut: boolean } {
  const isSecret = secretNames();
  const files = new Set<string>();
  let budget = maxEntries;
  const walk = (start: string, take: (path: string) => boolean): boolean => {
    const first = relative(reach.workspace, start).split(sep).join("/");
    const pending: [string, string][] = [[start, first === "" ? "" : `${first}/`]];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [folder, prefix] = next;
      for (const entry of entriesOf(folder)) {
        if (budget-- <= 0) return false;
        const { name } = entry;
        if (entry.isDirectory()) {
          const rel = `${prefix}${name}`;
          // What an interpreter writes there itself as it runs (Python's bytecode, a loader's compiled files) would make
          // every start after the first a change; the write view still refuses them to the agents.
          if (name === ".git" || name === "__pycache__" || rel === ORG_DIR || rel === "node_modules/.cache" || isSecret(name)) continue;
          pending.push([`${folder}${sep}${name}`, `${rel}/`]);
        } else if (take(`${folder}${sep}${name}`) && !isSecret(name)) files.add(`${folder}${sep}${name}`);
      }
    }
    return true;
  };
  // A package folder's other files (its READMEs, licences, data) change with every install, and the agents write none.
  const packages = PACKAGE_FOLDERS.map((name) => `${join(reach.workspace, name)}${sep}`);
  const loadable = (path: string) => !packages.some((folder) => path.startsWith(folder)) || isCodeFile(path);
  const whole = reach.roots.every((root) => walk(root, () => true));
  const code = whole && reach.codeUnder.every((folder) => walk(folder, loadable));
  return { files: [...files].sort(), cut: !code };
}

/**
 * Whether a name is a secret one: `sandbox.secretPaths`' default, whose patterns are names (in any folder, and a folder
 * so named hides all under it), matched as written and folded, as the write view matches them.
 */
function secretNames(): (name: string) => boolean {
  const matches = patternMatcher();
  const forms = DEFAULT_SECRET_PATHS.map((pattern) => ({ pattern, folded: folded(pattern) }));
  return (name) => {
    const foldedName = /^[\x20-\x7e]*$/.test(name) ? name.toLowerCase() : folded(name);
    return forms.some((form) => matches(form.pattern, name) || matches(form.folded, foldedName));
  };
}

function entriesOf(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
}
