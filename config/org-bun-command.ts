import { CHECKOUT_DIR } from "./workspace-paths.ts";

/**
 * The flags that keep bun from taking configuration from the directory it starts in, which for org is the
 * workspace, where models write. Measured on bun 1.4.5: without them bun loads `.env`, `.env.local` and the
 * other `.env.*` files and the `bunfig.toml` (whose `preload` runs code before org's) of its cwd, and when the
 * script's checkout lacks a package it auto-installs it with the cwd's `.npmrc`. `--config` must be one word
 * (`--config=FILE`): given as two, bun reads the cwd's bunfig.toml anyway and takes FILE for the script.
 * A cwd `tsconfig.json` whose `paths` map `"*"` takes over org's own imports unless `--tsconfig-override`
 * names the checkout's. `package.json` imports and `node_modules` resolve from the script's own folder, the
 * checkout, so the workspace's copies change nothing (the test plants them all the same).
 */
export function isolatedBunFlags(checkoutDir: string = CHECKOUT_DIR): string[] {
  return ["--no-env-file", "--no-install", `--config=${checkoutDir}/bunfig.toml`, `--tsconfig-override=${checkoutDir}/tsconfig.json`];
}

/** The argv that runs `checkoutDir`'s org with `args`, wherever it starts. `bin/org` uses the same flags. */
export function orgCommand(args: readonly string[], options: { bun?: string; checkoutDir?: string } = {}): string[] {
  const checkoutDir = options.checkoutDir ?? CHECKOUT_DIR;
  return [options.bun ?? process.execPath, ...isolatedBunFlags(checkoutDir), `${checkoutDir}/main.ts`, ...args];
}

/** The last value of a one-word `--flag=value` in `execArgv`. */
function flagValue(execArgv: readonly string[], flag: string): string | undefined {
  return execArgv.findLast((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/**
 * startedIsolated as the launcher and `orgCommand` spell it, read without a file: the flags naming `checkoutDir`'s files
 * as written, or a start in `checkoutDir` itself. False says only that the spelling differs.
 */
export function startedIsolatedAsWritten(
  execArgv: readonly string[] = process.execArgv,
  cwd: string = process.cwd(),
  checkoutDir: string = CHECKOUT_DIR,
): boolean {
  if (cwd === checkoutDir) return true;
  return (
    execArgv.includes("--no-env-file") &&
    execArgv.includes("--no-install") &&
    flagValue(execArgv, "--config") === `${checkoutDir}/bunfig.toml` &&
    flagValue(execArgv, "--tsconfig-override") === `${checkoutDir}/tsconfig.json`
  );
}

/**
 * Whether this process was started with `isolatedBunFlags` for `checkoutDir`, or in the checkout itself
 * (`npm start`, a test): anywhere else, bun may already have loaded the current directory's `.env*`.
 */
export async function startedIsolated(
  execArgv: readonly string[] = process.execArgv,
  cwd: string = process.cwd(),
  checkoutDir: string = CHECKOUT_DIR,
): Promise<boolean> {
  // The launcher's and orgCommand's own spelling needs no resolving: node:fs is loaded only for another one, since
  // loading it costs `org --help` a third of its time.
  if (startedIsolatedAsWritten(execArgv, cwd, checkoutDir)) return true;
  const flagsGiven = execArgv.includes("--no-env-file") && execArgv.includes("--no-install");
  const [config, tsconfig] = [`${checkoutDir}/bunfig.toml`, `${checkoutDir}/tsconfig.json`];
  const { realpathSync } = await import("node:fs");
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  };
  if (real(cwd) !== undefined && real(cwd) === real(checkoutDir)) return true;
  const points = (flag: string, file: string) => {
    const given = flagValue(execArgv, flag);
    return given !== undefined && real(given) !== undefined && real(given) === real(file);
  };
  return flagsGiven && points("--config", config) && points("--tsconfig-override", tsconfig);
}
