import { rmSync } from "node:fs";
import type { BrowserSettings } from "../config/browser-settings.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { BROWSER_LIMITS, browserBinary, BrowserUnavailableError } from "./browser-binary.ts";

/** Whether the browser tool's Chromium starts here, and what its pages may reach; `fix` when it does not. */
export type BrowserCheck = { ok: boolean; detail: string; fix?: string };

/**
 * Runs the configured Chromium in the sandbox, under the browser's bounds, far enough to say its version (a whole
 * start costs a CPU-second or two; `org doctor` runs often), and says where its pages may go.
 */
export async function checkBrowser(access: SandboxAccess, settings: BrowserSettings, signal: AbortSignal): Promise<BrowserCheck> {
  const fix = "install Debian's chromium (apt-get install -y chromium), or set browser.executable (or ORG_CHROMIUM) to a Chromium binary";
  let binary: string;
  try {
    binary = browserBinary(settings.executable);
  } catch (error) {
    if (error instanceof BrowserUnavailableError) return { ok: false, detail: error.message, fix };
    throw error;
  }
  const scratchDir = ownedTempDir("browser-check");
  try {
    const result = await access.sandbox.run({
      policy: access.sandboxPolicy,
      argv: [binary, "--version"],
      scratchDir,
      timeoutMs: 15_000,
      abortSignal: signal,
      env: { HOME: "/scratch" },
      limits: { memoryBytes: BROWSER_LIMITS.memoryBytes, processes: BROWSER_LIMITS.processes },
    });
    const version = result.stdout.trim().split("\n")[0] ?? "";
    if (result.exitCode !== 0 || version === "") {
      const said = (result.stderr.trim().split("\n").at(-1) ?? "").slice(0, 200);
      return {
        ok: false,
        detail: `${binary} did not start in the sandbox (exit ${result.exitCode ?? result.signal}${said ? `: ${said}` : ""})`,
        fix,
      };
    }
    const egress = access.sandboxPolicy.egress;
    const reach = egress
      ? `its pages load only what sandbox.egress lets through (${egress.allow.length} hosts listed, unlisted ones: ${egress.unlisted})`
      : "no sandbox.egress in org.config.json, so its pages reach no host";
    return { ok: true, detail: `${version} (${binary}) runs in the sandbox; ${reach}` };
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}
