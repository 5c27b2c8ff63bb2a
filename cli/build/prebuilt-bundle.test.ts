import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";
import { buildPrebuilt } from "./build-prebuilt.ts";
import { prebuiltCheck } from "../config/doctor-checks.ts";
import {
  fileStamp,
  type PrebuiltManifest,
  type PrebuiltName,
  PREBUILT_NAMES,
  prebuiltBundle,
  prebuiltDir,
  prebuiltEntry,
  prebuiltFile,
  prebuiltManifestFile,
} from "./prebuilt-bundle.ts";

// org's code (a copy of it) is built into its bundle for real by the first case (and once more by the last); the cases run org as a user does
// and read which modules the process loaded: the bundle alone, or org's source files. The last one changes the code.

let code: ReturnType<typeof orgCodeCopy>;
beforeAll(() => {
  code = orgCodeCopy("org-prebuilt-");
});
afterAll(() => code[Symbol.dispose]());

const bundleOf = (name: PrebuiltName) => `.org/prebuilt/${prebuiltFile(name)}`;
const ENTRIES = PREBUILT_NAMES.map(prebuiltEntry);

async function run(args: string[], env: Record<string, string> = {}) {
  return modulesLoadedBy(args, { checkoutDir: code.dir, env: { ORG_PREBUILT: "on", ...env } });
}

/** Whether a process ran bundle `name` and none of org's source past main.ts, or the source and no bundle. */
const fromBundle = (modules: string[], name: PrebuiltName = "org-main") =>
  modules.includes(bundleOf(name)) &&
  modules.filter((path) => path.startsWith(".org/")).length === 1 &&
  !ENTRIES.some((entry) => modules.includes(entry));
const fromSource = (modules: string[]) => !modules.some((path) => path.startsWith(".org/")) && ENTRIES.some((entry) => modules.includes(entry));

describe("the prebuilt bundle (npm run build)", () => {
  test("runs the commands with what the source prints and exits with, errors included, and nothing of the source", async () => {
    // A build killed midway left its folder (pid 2^22 + 1: above Linux's pid_max); one still running keeps its own.
    const abandoned = `${prebuiltDir(code.dir)}.4194305-0a1b2c3d.tmp`;
    const running = `${prebuiltDir(code.dir)}.${process.pid}-0a1b2c3d.tmp`;
    for (const folder of [abandoned, running]) mkdirSync(folder, { recursive: true });
    buildPrebuilt(code.dir);
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(running)).toBe(true);
    rmSync(running, { recursive: true });
    expect(prebuiltBundle(code.dir)).toBe(join(prebuiltDir(code.dir), "org-main.js"));
    expect(prebuiltBundle(code.dir, "sandbox-main")).toBe(join(prebuiltDir(code.dir), "sandbox-main.js"));
    expect(prebuiltCheck(code.dir, undefined)).toEqual({
      name: "prebuilt bundle",
      status: "ok",
      detail: `commands start from ${prebuiltDir(code.dir)}, built from org's code as it is`,
    });
    // Each map keeps where every line came from, not the sources' text (bun parses a map whole to place one frame):
    // a stack thrown in the bundle still names the source file and line.
    for (const name of PREBUILT_NAMES) {
      const map = JSON.parse(readFileSync(join(prebuiltDir(code.dir), `${prebuiltFile(name)}.map`), "utf8"));
      expect(map.sources.length).toBeGreaterThan(10);
      expect(map.sourcesContent).toEqual(map.sources.map(() => null));
    }
    const thrown = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `require(${JSON.stringify(join(code.dir, bundleOf("org-main")))}).main(["chat", "--bogus"]).catch((error) => console.log(error.stack))`,
      ],
      { cwd: code.dir, stderr: "pipe" },
    );
    // The first frame names the source line that made the error (the map keeps lines, not every column).
    const frame = new RegExp(`\\n    at .*\\((${code.dir}/cli/[a-z/-]+\\.ts):(\\d+):\\d+\\)`).exec(thrown.stdout.toString());
    expect(frame?.[1]).toBeDefined();
    expect(readFileSync(frame?.[1] ?? "", "utf8").split("\n")[Number(frame?.[2]) - 1]).toContain("new UsageError(");
    for (const args of [
      ["chat", "--once", "/history"],
      ["chat", "--bogus"],
      ["chat", "--once", "/nonsense"],
      ["sandbox", "run"],
      ["tool", "list"],
    ]) {
      const built = await run(args);
      const source = await run(args, { ORG_PREBUILT: "off" });
      expect(fromBundle(built.modules, args[0] === "sandbox" ? "sandbox-main" : "org-main")).toBe(true);
      expect(built.modules.filter((path) => path.endsWith(".ts")).toSorted()).toEqual([
        "cli/build/prebuilt-bundle.ts",
        "config/workspace-paths.ts",
        "main.ts",
      ]);
      expect(fromSource(source.modules)).toBe(true);
      // The session's file name differs run to run; all else is the same.
      const same = (text: string) => text.replace(/\d{8}-\d{6}-[0-9a-f]{6}/g, "SESSION");
      expect({ exitCode: built.exitCode, stdout: same(built.stdout), stderr: same(built.stderr) }).toEqual({
        exitCode: source.exitCode,
        stdout: same(source.stdout),
        stderr: same(source.stderr),
      });
    }
    // A sandboxed command (the scan's rule files, the watch's worker: files found beside the code, not in the bundle).
    const sandboxed = await run(["sandbox", "run", "--", "/bin/sh", "-c", "echo hi; ls /"]);
    expect(fromBundle(sandboxed.modules, "sandbox-main")).toBe(true);
    expect(sandboxed.exitCode).toBe(0);
    expect(JSON.parse(sandboxed.stdout)).toMatchObject({ exitCode: 0, timedOut: false, stderr: "" });
    expect(JSON.parse(sandboxed.stdout).stdout).toStartWith("hi\n");
    // A usage error (the bundle's own class, reported by the bundle's own report) is still exit 2 with the hint.
    const usage = await run(["chat", "--bogus"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("--help' for usage.");
  }, 300_000);

  test("a manifest not of this checkout, bun and format is not trusted; ORG_PREBUILT=off, help and light commands stay on source", async () => {
    const manifestFile = join(prebuiltDir(code.dir), prebuiltManifestFile("org-main"));
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    for (const forged of [
      { ...manifest, checkout: "/elsewhere" },
      { ...manifest, bun: "0.0.1" },
      { ...manifest, format: 0 },
      { ...manifest, files: [] },
    ]) {
      writeFileSync(manifestFile, JSON.stringify(forged));
      expect(prebuiltBundle(code.dir)).toBeUndefined();
    }
    for (const garbage of ["", "{", "null", "[]", '{"format":1,"files":[[1,2]]}']) {
      writeFileSync(manifestFile, garbage);
      expect(prebuiltBundle(code.dir)).toBeUndefined();
      expect(fromSource((await run(["chat", "--once", "/history"])).modules)).toBe(true);
    }
    writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(fromSource((await run(["chat", "--once", "/history"], { ORG_PREBUILT: "off" })).modules)).toBe(true);
    // Unset (auto): the commands that load less than the bundle costs run from source, the others from the bundle,
    // `sandbox` from its own (whose manifest stands alone: the whole bundle's was forged above).
    for (const args of [
      ["tool", "list"],
      ["tool", "stats"],
    ]) {
      const light = await run(args, { ORG_PREBUILT: "" });
      expect(fromSource(light.modules), `${args.join(" ")}: ${light.stderr}`).toBe(true);
    }
    const sandbox = await run(["sandbox", "run", "--", "/bin/true"], { ORG_PREBUILT: "" });
    expect(fromBundle(sandbox.modules, "sandbox-main"), sandbox.stderr).toBe(true);
    expect(fromSource((await run(["sandbox", "run", "--", "/bin/true"], { ORG_PREBUILT: "off" })).modules)).toBe(true);
    expect(fromBundle((await run(["tool", "search", "words"], { ORG_PREBUILT: "" })).modules)).toBe(true);
    expect(fromBundle((await run(["chat", "--once", "/history"], { ORG_PREBUILT: "" })).modules)).toBe(true);
    const help = await run(["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.modules).not.toContain("cli/build/prebuilt-bundle.ts");
    const refused = await run(["chat", "--once", "/history"], { ORG_PREBUILT: "maybe" });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("ORG_PREBUILT=maybe is not a setting org knows");
  }, 300_000);
  test("a stamp moves when a file is edited, touched back or renamed over; a new node_modules or another tree sends org to source", async () => {
    const file = join(code.dir, "stamped.txt");
    writeFileSync(file, "one\n");
    const stamps = [fileStamp(file)];
    appendFileSync(file, "two\n");
    stamps.push(fileStamp(file));
    const { atime, mtime } = statSync(file);
    utimesSync(file, atime, mtime);
    stamps.push(fileStamp(file));
    writeFileSync(`${file}.new`, readFileSync(file));
    renameSync(`${file}.new`, file);
    stamps.push(fileStamp(file));
    expect(stamps.every((stamp) => stamp !== undefined)).toBe(true);
    expect(new Set(stamps.map((stamp) => JSON.stringify(stamp))).size).toBe(stamps.length);
    symlinkSync(file, `${file}.link`);
    expect(fileStamp(`${file}.link`)).toBeUndefined();
    rmSync(file);
    expect(fileStamp(file)).toBeUndefined();

    // Besides the inputs, what decides how bun read them: the checkout's settings, npm's install, each package's own.
    const manifestOf = (name: PrebuiltName): PrebuiltManifest =>
      JSON.parse(readFileSync(join(prebuiltDir(code.dir), prebuiltManifestFile(name)), "utf8"));
    const manifest = manifestOf("org-main");
    const listed = manifest.files.map(([path]) => path);
    for (const name of ["package.json", "tsconfig.json", "bunfig.toml", "node_modules/.package-lock.json", "cli/org-main.ts", bundleOf("org-main")]) {
      expect(listed).toContain(join(code.dir, name));
    }
    expect(listed.some((path) => path.endsWith("/node_modules/zod/package.json"))).toBe(true);
    // The sandbox's bundle lists what it was built from, not the whole bundle's files: a file only `chat` reads moving
    // leaves it standing, one of the sandbox's own does not (checked last, below).
    const sandboxListed = manifestOf("sandbox-main").files.map(([path]) => path);
    for (const name of ["package.json", "cli/sandbox-main.ts", "cli/sandbox-command.ts", "cli/run-org.ts", bundleOf("sandbox-main")]) {
      expect(sandboxListed).toContain(join(code.dir, name));
    }
    expect(sandboxListed).not.toContain(join(code.dir, "cli", "chat", "chat-command.ts"));
    expect(sandboxListed).not.toContain(join(code.dir, bundleOf("org-main")));

    // node_modules pointed at another tree is a no; pointed back, the bundle stands again (the root is not stamped).
    renameSync(join(code.dir, "node_modules"), join(code.dir, "node_modules.kept"));
    mkdirSync(join(code.dir, "elsewhere", "node_modules"), { recursive: true });
    symlinkSync(join(code.dir, "elsewhere", "node_modules"), join(code.dir, "node_modules"));
    expect(prebuiltBundle(code.dir)).toBeUndefined();
    rmSync(join(code.dir, "node_modules"));
    renameSync(join(code.dir, "node_modules.kept"), join(code.dir, "node_modules"));
    expect(fromBundle((await run(["chat", "--once", "/history"])).modules)).toBe(true);

    // A node_modules where resolution found none would take over zod for config/'s files: a no, as is, above, a file
    // edited.
    expect(manifest.absent).toContain(join(code.dir, "config", "node_modules"));
    mkdirSync(join(code.dir, "config", "node_modules"));
    expect(prebuiltBundle(code.dir)).toBeUndefined();
    const after = await run(["chat", "--once", "/history"]);
    expect(fromSource(after.modules)).toBe(true);
    expect(after.exitCode).toBe(0);

    // The node_modules gone, nothing found there any more: the build stands again. Then a file only the whole bundle
    // was built from moves: that one is stale, the sandbox's stands; then one of the sandbox's own.
    rmSync(join(code.dir, "config", "node_modules"), { recursive: true });
    expect(prebuiltBundle(code.dir)).toBeDefined();
    appendFileSync(join(code.dir, "cli", "chat", "chat-command.ts"), "\n");
    expect(prebuiltBundle(code.dir)).toBeUndefined();
    // org doctor says which bundle no longer matches, and how to build again; with ORG_PREBUILT=off none is wanted.
    const doctor = prebuiltCheck(code.dir, undefined);
    expect(doctor).toMatchObject({ status: "warn", fix: `cd ${code.dir} && npm run build` });
    expect(doctor.detail).toContain("(org-main: never built, or org's files");
    expect(prebuiltCheck(code.dir, "off").status).toBe("ok");
    expect(fromBundle((await run(["sandbox", "run", "--", "/bin/true"])).modules, "sandbox-main")).toBe(true);
    appendFileSync(join(code.dir, "cli", "sandbox-command.ts"), "\n");
    expect(prebuiltBundle(code.dir, "sandbox-main")).toBeUndefined();
    expect(prebuiltCheck(code.dir, undefined).detail).toContain("(org-main, sandbox-main: never built");
    const stale = await run(["sandbox", "run", "--", "/bin/true"]);
    expect(fromSource(stale.modules)).toBe(true);
    expect(stale.exitCode).toBe(0);

    // Only folders where an import probed are stamped: org's own imports spell their files, a package's are found
    // through added extensions and index files. An import written without its file's name (here one of org's, into a
    // folder's index.ts) stamps the folder it points into: a file added there that bun would find instead is a no.
    expect(manifestOf("sandbox-main").folders.every(([path]) => path.includes("/node_modules/"))).toBe(true);
    mkdirSync(join(code.dir, "cli", "probed"));
    writeFileSync(join(code.dir, "cli", "probed", "index.ts"), "export const probed = 1;\n");
    appendFileSync(join(code.dir, "cli", "sandbox-main.ts"), 'import "./probed";\n');
    // Built again over the stale build (it is replaced whole): both stand.
    buildPrebuilt(code.dir);
    expect(prebuiltBundle(code.dir)).toBeDefined();
    expect(prebuiltBundle(code.dir, "sandbox-main")).toBeDefined();
    const folders = manifestOf("sandbox-main").folders.map(([path]) => path);
    expect(folders).toContain(join(code.dir, "cli"));
    expect(folders).toContain(join(code.dir, "cli", "probed"));
    // A folder or file added beside org's own code (a promotion's first tools/generated/, a chat-command.js beside the
    // .ts) changes nothing an import finds, since each of org's imports spells its file's name: both bundles stand.
    mkdirSync(join(code.dir, "tools", "generated", "count-words"), { recursive: true });
    writeFileSync(join(code.dir, "tools", "generated", "count-words", "tool.ts"), "export default 1;\n");
    writeFileSync(join(code.dir, "cli", "chat", "chat-command.js"), "throw new Error('not this one');\n");
    expect(prebuiltBundle(code.dir)).toBeDefined();
    expect(prebuiltBundle(code.dir, "sandbox-main")).toBeDefined();
    expect(fromBundle((await run(["chat", "--once", "/history"])).modules)).toBe(true);
    writeFileSync(join(code.dir, "cli", "probed.ts"), "export const probed = 2;\n");
    expect(prebuiltBundle(code.dir, "sandbox-main")).toBeUndefined();
    expect(prebuiltBundle(code.dir)).toBeDefined();
  }, 300_000);
});
