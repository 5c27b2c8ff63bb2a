import { existsSync, lstatSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { REPLY_FILE_RULE, replyFileProblem } from "../security/reply-file-name.ts";
import { protectedTargetProblem } from "../security/safe-file-write.ts";
import { OrgError } from "../errors/org-error.ts";

/** Where the room's conversation goes: everyone, one persona, or a file inside the workspace. */
export type RoomMode = { kind: "group" } | { kind: "direct"; persona: string } | { kind: "file"; path: string };

/** A mode as the user writes it: "group", "direct:<persona>", "file:<workspace-relative path>". */
export function formatRoomMode(mode: RoomMode): string {
  switch (mode.kind) {
    case "group":
      return "group";
    case "direct":
      return `direct:${mode.persona}`;
    case "file":
      return `file:${mode.path}`;
  }
}

/** A mode the room cannot take; the message lists the valid ones or says why a path is refused. */
export class RoomModeError extends OrgError {
  override name = "RoomModeError";
}

const VALID = 'Valid modes: "group", "direct:<persona>", "file:<path inside the workspace ending in .md, .txt or .log>".';

function isInside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === "" || (!fromRoot.startsWith(`..${sep}`) && fromRoot !== ".." && !isAbsolute(fromRoot));
}

/** The nearest existing ancestor's real path, so a symlinked directory cannot lead outside. */
function realAncestor(path: string): string {
  let current = path;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
  return realpathSync(current);
}

/**
 * Why replies may not be appended to a workspace-relative path under the room's rules, or undefined: what a workspace
 * change may not touch (protected and secret paths, what an unsandboxed MCP server runs from) a reply may not either.
 */
export type ReplyFileGuard = (path: string) => string | undefined;

/**
 * Reads a mode the user, a persona or a transcript wrote (`file:` paths end up relative to the workspace).
 * Throws RoomModeError for anything else.
 */
export function parseRoomMode(
  mode: string,
  personas: readonly string[],
  workspaceDir: string,
  /** Files replies may never go to (org's config file); `.org/` and `.git` are refused always. */
  protectedFiles: readonly string[] = [CONFIG_FILE_NAME],
  /** Why the room's own rules refuse a workspace-relative path (a protected or secret path, what an MCP server loads). */
  guard?: ReplyFileGuard,
): RoomMode {
  const trimmed = mode.trim();
  if (trimmed === "group") return { kind: "group" };
  if (trimmed.startsWith("direct:")) {
    const name = trimmed.slice("direct:".length).trim().replace(/^@/, "").toLowerCase();
    if (!personas.includes(name)) {
      throw new RoomModeError(`there is no persona "${name}" to talk to directly. Personas: ${personas.join(", ")}. ${VALID}`);
    }
    return { kind: "direct", persona: name };
  }
  if (trimmed.startsWith("file:")) {
    const given = trimmed.slice("file:".length).trim();
    if (given === "") throw new RoomModeError(`file mode needs a path, e.g. "file:notes/replies.md". ${VALID}`);
    const path = checkReplyFile(given, workspaceDir, protectedFiles);
    const refused = guard?.(path);
    if (refused !== undefined) throw new RoomModeError(refused);
    return { kind: "file", path };
  }
  throw new RoomModeError(`"${mode}" is not a mode. ${VALID}`);
}

/**
 * A workspace-relative path replies may be appended to, checked against `..`, absolute paths, symlinks,
 * directories, `.git`, `.org/`, org's config file and anything but plain text (`replyFileProblem`). The write itself checks again
 * (`appendInsideWorkspace`).
 */
function checkReplyFile(given: string, workspaceDir: string, protectedFiles: readonly string[]): string {
  // What normalizing would hide: control or invisible characters, a trailing / (a directory was meant).
  if (/\p{C}/u.test(given) || given.endsWith("/")) {
    throw new RoomModeError(replyFileProblem(given) ?? REPLY_FILE_RULE);
  }
  const root = realpathSync(workspaceDir);
  const target = resolve(root, given);
  if (!isInside(root, target) || !isInside(root, realAncestor(target))) {
    throw new RoomModeError(
      `"${given}" is outside the workspace (${root}); replies can only be written to files inside it. Give a ` +
        `path relative to the workspace, e.g. "file:replies.md".`,
    );
  }
  const link = (() => {
    try {
      return lstatSync(target).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (link) {
    throw new RoomModeError(`"${given}" is a symbolic link; replies are only written to plain files inside the workspace. Pick another path.`);
  }
  const fromRoot = relative(root, target);
  if (fromRoot === "" || (existsSync(target) && statSync(target).isDirectory())) {
    throw new RoomModeError(`"${given}" is a directory; give a file path, e.g. "file:${fromRoot ? `${fromRoot}/` : ""}replies.md".`);
  }
  const canonical = fromRoot.split(sep).join("/");
  const problem = protectedTargetProblem(root, fromRoot, protectedFiles) ?? replyFileProblem(canonical);
  if (problem) throw new RoomModeError(problem);
  return canonical;
}
