import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OrgError } from "../errors/org-error.ts";

/** The dependencies could not be installed; the message has the installer's last words and what to try. */
export class DependencyInstallError extends OrgError {
  override name = "DependencyInstallError";
}

/** How a checkout got its node_modules. */
export type DependencyInstall = "kept" | "linked" | "npm ci --offline";

const MARKER = ".org-package-lock.sha256";

function lockHash(directory: string): string | undefined {
  const path = join(directory, "package-lock.json");
  return existsSync(path) ? new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex") : undefined;
}

async function runCommand(argv: string[], cwd: string, signal?: AbortSignal): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore", ...(signal ? { signal } : {}) });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

/** Whether `path` is a link naming exactly `to`. */
function linksTo(path: string, to: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === to;
  } catch {
    return false;
  }
}

/**
 * Gives `target` (a candidate's worktree) its node_modules without the network: when both lock files are the same, a
 * link to `source`'s (the current checkout's) node_modules, as the gate's own worktree has (kept when it is there
 * already): the same packages, made in no time and removed with the worktree without touching them; else
 * `npm ci --offline` from npm's cache, kept while the worktree's package-lock.json stays the one it was made for.
 */
export async function installDependencies(source: string, target: string, signal?: AbortSignal): Promise<DependencyInstall> {
  const wanted = lockHash(target);
  if (wanted === undefined) throw new DependencyInstallError(`${target} has no package-lock.json; a candidate must keep org's lock file.`);
  const modules = join(target, "node_modules");
  const shared = join(source, "node_modules");
  if (lockHash(source) === wanted && existsSync(shared)) {
    if (linksTo(modules, shared)) return "kept";
    rmSync(modules, { recursive: true, force: true });
    symlinkSync(shared, modules);
    return "linked";
  }
  const marker = join(modules, MARKER);
  const installed = lstatSync(modules, { throwIfNoEntry: false })?.isDirectory() === true;
  if (installed && existsSync(marker) && readFileSync(marker, "utf8").trim() === wanted) return "kept";
  rmSync(modules, { recursive: true, force: true });
  const run = await runCommand(["npm", "ci", "--offline", "--no-audit", "--no-fund"], target, signal);
  if (run.code !== 0) {
    throw new DependencyInstallError(
      `npm ci --offline failed in ${target} (its package-lock.json differs from the current checkout's, and ` +
        `npm's cache lacks a package): ${run.output.slice(-1_500)}`,
    );
  }
  writeFileSync(marker, `${wanted}\n`);
  return "npm ci --offline";
}
