// The layout org keeps in a workspace and in its own checkout: `.org/` for state (never committed) and
// `tools/generated/<name>/` for promoted generated tools. Every other file names these through here. It loads no
// module: `org --help` reads it, and node:fs and node:path together cost that whole process a third of its time.

/** Set by `cli/build/build-prebuilt.ts` in the bundle it builds (whose every module shares the bundle's folder). */
declare const ORG_PREBUILT_CHECKOUT: string | undefined;

/** The checkout org runs from: this folder's parent, or the checkout a prebuilt bundle was built from. */
export const CHECKOUT_DIR =
  typeof ORG_PREBUILT_CHECKOUT === "string" ? ORG_PREBUILT_CHECKOUT : import.meta.dir.slice(0, import.meta.dir.lastIndexOf("/")) || "/";

/** A workspace's room configuration (read by `config/org-config.ts`). */
export const CONFIG_FILE_NAME = "org.config.json";
/** org's state folder under a workspace or checkout; it is git-ignored. */
export const ORG_DIR = ".org";
/** Per-session scratch folders: `.org/scratch/<session>`. */
export const SCRATCH_DIR = `${ORG_DIR}/scratch`;
/** Saved sessions: `.org/sessions`. */
export const SESSIONS_DIR = `${ORG_DIR}/sessions`;
/** The audit log: `.org/audit/<day>.jsonl`. */
export const AUDIT_DIR = `${ORG_DIR}/audit`;
/** Transcripts `/save` writes by default: `.org/transcripts`. */
export const TRANSCRIPTS_DIR = `${ORG_DIR}/transcripts`;
/** The line editor's history file. */
export const HISTORY_FILE = `${ORG_DIR}/history`;
/** The toolsmith's validation folders and `tool run`'s copies: `.org/toolsmith/run-*`, `.org/toolsmith/tool-run-*`. */
export const TOOLSMITH_WORK_DIR = `${ORG_DIR}/toolsmith`;
/** Memory: `.org/memory/memory.sqlite` (an index, rebuilt from the transcripts) and `facts.jsonl` (saved facts). */
export const MEMORY_DIR = `${ORG_DIR}/memory`;
/** Every call of a generated tool, one JSON line each: `.org/usage/calls.jsonl` and its rotated archives. */
export const USAGE_DIR = `${ORG_DIR}/usage`;
/** `org grow`'s proposals, cursor, lock and one report per run: `.org/grow`. */
export const GROW_DIR = `${ORG_DIR}/grow`;
/** Workflows `org workflow plan` planned, one JSON file each: `.org/plans/<id>.json`. */
export const PLANS_DIR = `${ORG_DIR}/plans`;
/** `org telegram`'s state: the update offset, each chat's session, what was taken and not finished: `.org/telegram`. */
export const TELEGRAM_DIR = `${ORG_DIR}/telegram`;
/** The workspace's event journal, one JSON line per change with its sequence number: `.org/events.jsonl`. */
export const EVENTS_FILE = `${ORG_DIR}/events.jsonl`;
/** Git worktrees org makes: `.org/worktrees`. */
export const WORKTREES_DIR = `${ORG_DIR}/worktrees`;

/** Where a workspace or checkout keeps its JSON workflows, one file each: `workflows/<name>.json`. */
export const WORKFLOWS_DIR = "workflows";
/** A workflow's file name: a plain `.json` name, no path, no `..`. */
export const WORKFLOW_FILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.json$/;

/** Whether a repository path is a workflow file, as a candidate may bring one: `workflows/<name>.json`. */
export const isWorkflowFilePath = (path: string): boolean => {
  const [folder, file = "", ...rest] = path.split("/");
  return folder === WORKFLOWS_DIR && rest.length === 0 && WORKFLOW_FILE_NAME_PATTERN.test(file);
};

/** Where promoted generated tools live, one folder each, under a workspace or org's checkout. */
export const GENERATED_TOOLS_DIR = "tools/generated";

/**
 * What org and the runtime it starts take settings or code from in a workspace, as path patterns (the glob language
 * of `workspace/path-glob.ts`): org's config file, bun's `bunfig.toml` (its `preload` runs code) and `.npmrc`, the
 * `.env*` files bun loads, the workflows org serves and the promoted tools it offers. No change of the agents writes
 * one, a bare name in any folder (`DEFAULT_PROTECTED_PATHS`); a call of a program on the host that changes one where
 * org reads it (the top folder, and the two folders) has it put back (`workspace/settings-guard.ts`).
 */
export const SETTINGS_PATHS: readonly string[] = [
  CONFIG_FILE_NAME,
  "bunfig.toml",
  ".npmrc",
  ".env*",
  `${WORKFLOWS_DIR}/*.json`,
  `${GENERATED_TOOLS_DIR}/**`,
];

/** Why org reads nothing under `relative` of a root: `link`, a folder on the way, is a link. */
export function linkedFolderProblem(relative: string, link: string): string {
  return `${link} is a symbolic link; org reads ${relative}/ only through real folders, so nothing under it is used`;
}

/** A generated tool's name, and so its folder's: snake_case, 2–48 characters, safe as a folder and an OpenAI tool name. */
export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]{1,47}$/;

/** The three files of a generated tool's folder. */
export const GENERATED_TOOL_FILES = ["tool.ts", "tool.test.ts", "metadata.json"] as const;
export type GeneratedToolFile = (typeof GENERATED_TOOL_FILES)[number];

/** A generated tool file's path relative to a repository's root, with `/` separators (as git names it). */
export function generatedToolPath(name: string, file: GeneratedToolFile): string {
  return `${GENERATED_TOOLS_DIR}/${name}/${file}`;
}
