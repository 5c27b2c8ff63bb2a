import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";

/** Sends SIGTERM to `child` once its stdout matches `ready`; the text read, whole once the child has exited. */
async function stdoutStoppingAt(child: Bun.Subprocess<"ignore", "pipe", "pipe">, ready: RegExp | undefined): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    if (ready?.test(text)) child.kill("SIGTERM");
  }
  return text;
}

/**
 * Runs `org ARGS` as a real process (the launcher's bun flags, main.ts of this checkout or of `checkoutDir`) with a
 * preload that records every module it loaded: what the command printed, its exit code, and the modules, as paths
 * relative to that checkout (`node_modules/zod/v4/…`, `config/org-config.ts`). It runs in `cwd`, else in an empty
 * folder of its own: a command that works on the folder it runs in (`sandbox run`) must never make state in this
 * checkout. A command that runs until stopped (org serve) is sent SIGTERM once its stdout matches `stopWhen`; it is
 * killed when it has not exited within `timeoutMs`. It runs from source unless `env` sets ORG_PREBUILT.
 */
export async function modulesLoadedBy(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; checkoutDir?: string; env?: Record<string, string>; stopWhen?: RegExp } = {},
) {
  const scratch = mkdtempSync(join(tmpdir(), "org-loaded-modules-"));
  try {
    const out = join(scratch, "modules.txt");
    const workspace = join(scratch, "workspace");
    mkdirSync(workspace);
    const checkoutDir = options.checkoutDir ?? CHECKOUT_DIR;
    const [bun = "", ...rest] = orgCommand(args, { checkoutDir });
    // BUN_OPTIONS would load what it names into the command too (a preload of the caller's, as bench:suite's
    // --by-process sets): the modules counted are the command's own.
    const { BUN_OPTIONS: _callers, ...environment } = process.env;
    const child = Bun.spawn([bun, `--preload=${join(import.meta.dir, "record-loaded-modules.ts")}`, ...rest], {
      cwd: options.cwd ?? workspace,
      // From source unless asked (ORG_PREBUILT: "on"): a prebuilt bundle is one module, whatever the command loads.
      env: { ...environment, NO_COLOR: "1", ORG_PREBUILT: "off", ...options.env, ORG_TEST_LOADED_MODULES: out },
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
      timeout: options.timeoutMs ?? 60_000,
    });
    const [stdout, stderr, exitCode] = await Promise.all([
      stdoutStoppingAt(child, options.stopWhen),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    const modules = readFileSync(out, "utf8")
      .split("\n")
      .filter((path) => path !== "" && !path.endsWith("record-loaded-modules.ts"))
      // node_modules of an `orgCodeCopy` is a link to this checkout's, where bun finds its files.
      .map((path) => (relative(checkoutDir, path).startsWith("..") ? relative(CHECKOUT_DIR, path) : relative(checkoutDir, path)));
    return { stdout, stderr, exitCode, modules };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Which of `modules` (as `modulesLoadedBy` names them: org's own files, relative to the checkout) import one of
 * `builtins` (`node:crypto`) at their top: loading such a builtin costs a process milliseconds of CPU whether or not
 * anything calls it.
 */
export function importersOf(modules: readonly string[], builtins: readonly string[], checkoutDir: string = CHECKOUT_DIR): string[] {
  const imports = (source: string) =>
    [...source.matchAll(/^import\s+(?!type\b)[^;]*?\sfrom\s+"([^"]+)";/gm)].some((found) => builtins.includes(found[1] ?? ""));
  return modules.filter(
    (path) => !path.startsWith("node_modules/") && path.endsWith(".ts") && imports(readFileSync(join(checkoutDir, path), "utf8")),
  );
}
