import { existsSync } from "node:fs";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { writeObservedProfile } from "../memory/observed-profile.ts";
import { profilePath, profileSealed, readProfile, sealProfile } from "../personas/user-profile.ts";

/** What `org memory profile` was asked: show it, write it now from the active facts, or open it in the person's editor. */
export type ProfileRequest = { rebuild: boolean; edit: boolean; maxChars: number; editor: string | undefined };

/**
 * `org memory profile [--rebuild] [--edit]`: the lines to print. `--rebuild` writes the profile now (as the weekly digest
 * does); `--edit` opens `$EDITOR` on it (written first when there is none) and waits for it; `run` starts the editor
 * with the file and resolves to its exit code.
 */
export async function memoryProfile(workspaceDir: string, request: ProfileRequest, run: (argv: string[]) => Promise<number>): Promise<string> {
  const path = profilePath(workspaceDir);
  const said: string[] = [];
  if (request.rebuild || (request.edit && !existsSync(path))) {
    const written = writeObservedProfile(workspaceDir, request.maxChars);
    const left = written.left > 0 ? `, ${written.left} left out (observer.profileChars)` : "";
    said.push(`wrote ${path}: ${written.kept} fact${written.kept === 1 ? "" : "s"}${left}`);
  }
  if (request.edit) {
    if (!request.editor?.trim())
      return [...said, `no EDITOR is set: edit ${path} with any editor (your lines go under "## Your notes"), or set EDITOR`].join("\n");
    const code = await run([...request.editor.trim().split(/\s+/), path]);
    // What the person saved in their editor is their word: the profile is carried from now on.
    if (code === 0) sealProfile(workspaceDir);
    said.push(
      code === 0
        ? `edited ${path}: every persona's next prompt carries it; the weekly digest keeps what you wrote under "## Your notes"`
        : `the editor exited with ${code}; ${path} is as it left it`,
    );
    return said.join("\n");
  }
  if (request.rebuild) return said.join("\n");
  const text = readProfile(workspaceDir);
  if (text !== undefined && !profileSealed(workspaceDir, text))
    return (
      `${sanitizeForTerminal(text.trimEnd())}\n\n(org did not write ${path} here, or it changed since: no prompt carries it. ` +
      "'org memory profile --rebuild' writes it anew from your facts; '--edit' adopts it as you save it.)"
    );
  return (
    (text === undefined ? undefined : sanitizeForTerminal(text.trimEnd())) ??
    `no profile yet: org supervise's weekly digest writes ${path} from the facts you accepted (/facts); 'org memory profile --rebuild' writes it now`
  );
}
