import { dirname, isAbsolute, normalize } from "node:path";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { ORG_DIR, SETTINGS_PATHS } from "../config/workspace-paths.ts";
import type { ChangeSet, FileChange } from "./change-set.ts";
import { linksLeaving } from "./link-resolution.ts";
import { patternMatcher } from "./path-glob.ts";

/** Bounds on one change set: bytes of any one file, and files in all. */
export type ChangeSetLimits = { patchBytes: number; patchFiles: number };

export const DEFAULT_CHANGE_SET_LIMITS: ChangeSetLimits = { patchBytes: 1024 * 1024, patchFiles: 200 };

/**
 * Paths no change may touch (`sandbox.protectedPaths`' default): git's and org's state (a nested repository's
 * `.git` too: its hooks and config run when git is used there, and `.gitmodules`, `.gitattributes`), and every file
 * org or its runtime takes settings or code from (`SETTINGS_PATHS`: `org.config.json`, `bunfig.toml`, `.npmrc`,
 * `.env*`, `workflows/*.json`, `tools/generated/`). Patterns in the one glob language (`path-glob.ts`): a pattern
 * without `/` matches that name in any folder.
 */
export const DEFAULT_PROTECTED_PATHS: readonly string[] = [
  ".git/**",
  "**/.git/**",
  `${ORG_DIR}/**`,
  ...SETTINGS_PATHS,
  ".gitmodules",
  ".gitattributes",
];

/**
 * Paths a program the user runs executes from, and that program (`the unsandboxed MCP server x`): a pattern, or a test
 * of a workspace-relative path (the code it may load, by name, which no glob says) with `what` saying which and why.
 */
export type ExecutedPath = { pattern: string; by: string } | { test: (path: string) => boolean; what: string; by: string };

/** What no change may touch (a pattern, or a test of a path), as a refusal names one path under it and all of them. */
type Guard = { pattern: string; one: string; all: string } | { test: (path: string) => boolean; one: string; all: string };
/** What a change may not touch: protected and run-from patterns, and the secret paths' matcher; `matches` compiles each pattern once. */
type Guards = { list: readonly Guard[]; isSecret: (path: string) => string | undefined; matches: (pattern: string, path: string) => boolean };

/** Why one path (or the whole set, without a path) is refused. */
export type Refusal = { path?: string; reason: string };

export type ChangeSetCheck = { ok: true } | { ok: false; refusals: Refusal[]; message: string };

/** What a change set is checked against: the workspace it is for and its rules. */
export type ChangeSetCheckOptions = {
  limits?: ChangeSetLimits;
  protectedPaths?: readonly string[];
  allowedPaths?: readonly string[];
  /** Paths a program that runs as the user executes from (an unsandboxed MCP server's), refused like protected paths. */
  executedPaths?: readonly ExecutedPath[];
  /** `sandbox.secretPaths`: hidden from the agents, so never theirs to write (default DEFAULT_SECRET_PATHS). */
  secretPaths?: readonly string[];
  /** The workspace the change is for: links are followed through it as well as through the change. */
  workspaceDir?: string;
};

/**
 * Whether a change set may be applied whole: every name plain and inside the workspace, no protected or secret path,
 * no link leading outside (as written, or through the links on its way: the change's own, and with `workspaceDir` the
 * workspace's, whose own links must not be made to lead out either), no device, FIFO or socket, no file over
 * `limits.patchBytes` (or not read), at most `limits.patchFiles` files, and, when `allowedPaths` is given, nothing
 * outside it. Any refusal refuses all.
 */
export function checkChangeSet(changeSet: ChangeSet, options: ChangeSetCheckOptions = {}): ChangeSetCheck {
  const limits = options.limits ?? DEFAULT_CHANGE_SET_LIMITS;
  const protectedPaths = options.protectedPaths ?? DEFAULT_PROTECTED_PATHS;
  const guards: Guards = {
    list: [
      ...protectedPaths.map((pattern) => ({
        pattern,
        one: `a protected path (sandbox.protectedPaths: ${pattern})`,
        all: `protected paths (sandbox.protectedPaths: ${pattern})`,
      })),
      ...(options.executedPaths ?? []).map(
        (executed): Guard =>
          "pattern" in executed
            ? {
                pattern: executed.pattern,
                one: `a path ${executed.by} runs from (${executed.pattern})`,
                all: `paths ${executed.by} runs from (${executed.pattern})`,
              }
            : { test: executed.test, one: `code ${executed.by} can load (${executed.what})`, all: `code ${executed.by} can load (${executed.what})` },
      ),
    ],
    isSecret: secretPathMatcher(options.secretPaths ?? DEFAULT_SECRET_PATHS),
    // Each pattern compiled once for the whole set: a check may read thousands of paths.
    matches: patternMatcher(),
  };
  const refusals: Refusal[] = [];
  if (changeSet.changes.length > limits.patchFiles) {
    refusals.push({
      reason: `it touches ${changeSet.changes.length} files, more than limits.patchFiles (${limits.patchFiles}); make a smaller change`,
    });
  }
  for (const change of changeSet.changes) {
    const reason = pathProblem(change, limits, guards, options.allowedPaths);
    if (reason) refusals.push({ path: change.path, reason });
    if (refusals.length >= 20) break;
  }
  // Links that leave only through other links; each plain by now (a bad name was refused above, and stops here).
  if (refusals.length === 0)
    refusals.push(...linksLeaving(changeSet, options.workspaceDir, (target) => `a link to ${escapeName(target)}`).slice(0, 20));
  if (refusals.length === 0) return { ok: true };
  return { ok: false, refusals, message: describeRefusals(refusals) };
}

/** Refusals as lines for a person or a model, each name escaped so no byte of it can drive a terminal. */
export function describeRefusals(refusals: readonly Refusal[]): string {
  const lines = refusals.map((refusal) => (refusal.path === undefined ? `- ${refusal.reason}` : `- ${escapeName(refusal.path)}: ${refusal.reason}`));
  return `the change was refused whole; nothing of it was applied:\n${lines.join("\n")}`;
}

/** A name as JSON would quote it, with every control and non-ASCII character as an escape: safe on any terminal. */
export function escapeName(name: string): string {
  return JSON.stringify(name).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pathProblem(change: FileChange, limits: ChangeSetLimits, guards: Guards, allowedPaths: readonly string[] | undefined): string | undefined {
  const { path } = change;
  const { matches } = guards;
  if (path === "" || isAbsolute(path)) return "an absolute or empty name; changes name paths inside the workspace";
  if (path.split("/").some((part) => part === ".." || part === "." || part === ""))
    return "a name with '..', '.' or an empty part; it could reach outside the workspace";
  if (/[\x00-\x1f\x7f]/.test(path)) return "a name with control characters (a newline, an escape); rename the file";
  if (normalize(path) !== path) return "a name that is not in plain form";
  // Matched as written and as a case-insensitive file system may take it (WSL's /mnt/c, vfat, ext4 casefold): there
  // .ENV is the .env bun reads and .GIT/hooks git's. Allowed paths stay exact: refusing more is the safe side.
  const guarded = guards.list.find((guard) => "pattern" in guard && (matches(guard.pattern, path) || matches(folded(guard.pattern), folded(path))));
  if (guarded !== undefined) return `${guarded.one}; org never writes it from a change`;
  const secret = guards.isSecret(path);
  if (secret !== undefined) return `a secret path (sandbox.secretPaths: ${secret}), hidden from the agents; org never writes it from a change`;
  if (allowedPaths && !allowedPaths.some((pattern) => matches(pattern, path))) return "outside the paths this change may touch";
  for (const version of [change.after, change.before]) {
    if (version === undefined) continue;
    if (version.type === "fifo" || version.type === "device" || version.type === "socket")
      return `a ${version.type === "fifo" ? "FIFO" : version.type}; only plain files and links are carried`;
    if (version.type === "file" && (version.size > limits.patchBytes || version.content === undefined)) {
      return `${version.size} bytes, more than limits.patchBytes (${limits.patchBytes})`;
    }
  }
  if (change.after?.type === "symlink" && linkLeavesWorkspace(path, change.after.target)) {
    return `a link to ${escapeName(change.after.target)}, outside the workspace`;
  }
  if (change.after?.type === "symlink") {
    // `tools -> x` puts x/generated/ where org reads tools/generated/ from, and no check above saw x's files as that.
    // A test guard takes code by its name wherever it lies: a link only gives covered files another name.
    const above = guards.list.find(
      (guard) => "pattern" in guard && parentPatterns(guard.pattern).some((parent) => matches(parent, path) || matches(folded(parent), folded(path))),
    );
    if (above !== undefined) return `a link at a folder above ${above.all}; org reads them only through real folders`;
  }
  // Last, so that a more particular reason (a pattern, a link above one) is the one given.
  const loaded = guards.list.find((guard) => "test" in guard && (guard.test(path) || guard.test(folded(path))));
  if (loaded !== undefined) return `${loaded.one}; org never writes it from a change`;
  return undefined;
}

/**
 * The folders above what a pattern anchored at the root matches, as patterns: `tools/generated/**` gives `tools` and
 * `tools/generated`; a `**` in a middle folder gives the folders before it and everything under them. A pattern for a
 * name in any folder (one that starts with `**`, or has no `/`) has none: wherever a link leads, that name is protected.
 */
function parentPatterns(pattern: string): string[] {
  const parts = pattern.replace(/^\//, "").split("/");
  if (parts.length < 2 || parts[0] === "**") return [];
  const parents: string[] = [];
  for (const [index, part] of parts.slice(0, -1).entries()) {
    if (part === "**") {
      parents.push(`${parts.slice(0, index).join("/")}/**`);
      break;
    }
    parents.push(parts.slice(0, index + 1).join("/"));
  }
  return parents;
}

/** A name as a case-insensitive file system may take it (NFKC, lower case): `.ENV` is the `.env` bun reads there. */
export function folded(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** Whether a link at `path` with `target` resolves outside the workspace (lexically: every link of a change is checked). */
function linkLeavesWorkspace(path: string, target: string): boolean {
  if (isAbsolute(target)) return true;
  let depth = dirname(path) === "." ? 0 : dirname(path).split("/").length;
  for (const part of target.split("/")) {
    if (part === "..") depth -= 1;
    else if (part !== "." && part !== "") depth += 1;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * Which of `secretPaths` hides a workspace-relative path (the path itself, or a folder above it), as written or as a
 * case-insensitive file system takes it; undefined when none does. Folders' answers are kept for the next path.
 */
export function secretPathMatcher(secretPaths: readonly string[]): (path: string) => string | undefined {
  const forms = secretPaths.map((pattern) => ({ pattern, folded: folded(pattern) }));
  const folders = new Map<string, string | undefined>();
  // A scan may ask of a million paths: each pattern compiled once.
  const matches = patternMatcher();
  const own = (path: string) => {
    const foldedPath = folded(path);
    return forms.find((form) => matches(form.pattern, path) || matches(form.folded, foldedPath))?.pattern;
  };
  const folder = (path: string): string | undefined => {
    if (folders.has(path)) return folders.get(path);
    const slash = path.lastIndexOf("/");
    const found = (slash === -1 ? undefined : folder(path.slice(0, slash))) ?? own(path);
    folders.set(path, found);
    return found;
  };
  return (path) => {
    const slash = path.lastIndexOf("/");
    return (slash === -1 ? undefined : folder(path.slice(0, slash))) ?? own(path);
  };
}
