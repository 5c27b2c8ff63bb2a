import { join, relative } from "node:path";

/** The checkout org runs from. */
export const REPO_DIR = join(import.meta.dir, "..");

/** A word as a POSIX shell reads it back unchanged: as is when plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w./+,:@%=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** A file of the checkout as the user can type it from `cwd`: relative inside the checkout, absolute elsewhere. */
export function orgPath(file: string, cwd = process.cwd()): string {
  return shellWord(relative(REPO_DIR, cwd) === "" ? file : join(REPO_DIR, file));
}

/**
 * The command that starts org again, runnable from `cwd`: `bun` when the bun running now is the one on PATH,
 * `npx bun` in the checkout (npm installed bun into node_modules), that bun's absolute path elsewhere.
 */
export function orgInvocation(cwd = process.cwd(), bunOnPath = Bun.which("bun")): string {
  const inCheckout = relative(REPO_DIR, cwd) === "";
  const bun = bunOnPath === process.execPath ? "bun" : inCheckout ? "npx bun" : shellWord(process.execPath);
  return `${bun} ${orgPath("main.ts", cwd)}`;
}
