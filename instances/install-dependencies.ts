import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The dependencies could not be installed; the message has the installer's last words and what to try. */
export class DependencyInstallError extends Error {
  override name = "DependencyInstallError";
  readonly userFacing = true;
}

/** How a checkout got its node_modules. */
export type DependencyInstall = "kept" | "linked" | "npm ci --offline";

const MARKER = ".org-package-lock.sha256";

function lockHash(directory: string): string | undefined {
  const path = join(directory, "package-lock.json");
  return existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : undefined;
}

async function run(argv: string[], cwd: string, signal?: AbortSignal): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore", ...(signal ? { signal } : {}) });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

/**
 * Gives `target` (a candidate's worktree) its node_modules without the network: kept when an earlier install
 * was for the same package-lock.json; hard-linked from `source` (the current checkout) when both lock files
 * are the same; else `npm ci --offline` from npm's cache.
 */
export async function installDependencies(source: string, target: string, signal?: AbortSignal): Promise<DependencyInstall> {
  const wanted = lockHash(target);
  if (wanted === undefined) throw new DependencyInstallError(`${target} has no package-lock.json; a candidate must keep org's lock file.`);
  const modules = join(target, "node_modules");
  const marker = join(modules, MARKER);
  if (existsSync(marker) && readFileSync(marker, "utf8").trim() === wanted) return "kept";
  rmSync(modules, { recursive: true, force: true });
  let how: DependencyInstall;
  if (lockHash(source) === wanted && existsSync(join(source, "node_modules"))) {
    // Hard links: the same files, no copy, ~1 s for org's 200 MB; the target never writes into them.
    const copied = await run(["cp", "-al", "--", join(source, "node_modules"), modules], target, signal);
    if (copied.code !== 0) throw new DependencyInstallError(`could not link ${join(source, "node_modules")} into ${target}: ${copied.output.slice(-1_000)}`);
    how = "linked";
  } else {
    const installed = await run(["npm", "ci", "--offline", "--no-audit", "--no-fund"], target, signal);
    if (installed.code !== 0) {
      throw new DependencyInstallError(
        `npm ci --offline failed in ${target} (its package-lock.json differs from the current checkout's, and npm's cache lacks a package): ${installed.output.slice(-1_500)}`,
      );
    }
    how = "npm ci --offline";
  }
  writeFileSync(marker, `${wanted}\n`);
  return how;
}
