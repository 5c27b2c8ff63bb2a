import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { executableSearchPath } from "../../config/environment.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { isolatedBunFlags } from "../../config/org-bun-command.ts";
import { isProcessAlive } from "../../concurrency/process-alive.ts";
import { randomHex } from "../../concurrency/random-hex.ts";
import { isStrictBytecodeBundle } from "../../generated-tools/bundled-package.ts";
import { lineMappings } from "./line-mappings.ts";
import {
  type FileStamp,
  fileStamp,
  folderStamp,
  modulesDir,
  PREBUILT_FORMAT,
  PREBUILT_NAMES,
  type PrebuiltManifest,
  type PrebuiltName,
  prebuiltDir,
  prebuiltEntry,
  prebuiltFile,
  prebuiltManifestFile,
  prebuiltOwnFiles,
} from "./prebuilt-bundle.ts";
import { OrgError } from "../../errors/org-error.ts";

/** The build failed; the message says why and what to do. org still runs, from source. */
export class PrebuiltBuildError extends OrgError {
  override name = "PrebuiltBuildError";
}

/**
 * What the entries reach that stays out of the bundles: the compiler loads from a bundle of its own, on use; and
 * playwright-core (the browser tool's, loaded at its first call) finds its own files beside its modules.
 */
const EXTERNAL = ["typescript", "playwright-core"];

/**
 * What one bundle was built from: the files bun bundled, those that decided how it found and compiled them, and the
 * folders where a file added could have changed what an import found.
 */
type BundleInputs = { bundled: string[]; resolution: string[]; probed: string[] };
type Built = { name: PrebuiltName; inputs: BundleInputs };

/**
 * Builds `checkoutDir`'s code into `prebuiltDir(checkoutDir)`: each entry of `PREBUILT_NAMES` and everything it
 * imports as one CommonJS file in strict mode with its bytecode and source map, and the manifest of what that bundle
 * was built from. The files and their folders are stamped before and after the build and the build is kept only when
 * no stamp moved meanwhile, so each bundle holds what its stamps describe. Written into a temporary folder renamed
 * whole: a start sees the old build, none, or the new.
 */
export function buildPrebuilt(checkoutDir: string, options: { timeoutMs?: number } = {}): { files: number; bytes: number } {
  const dir = prebuiltDir(checkoutDir);
  removeAbandoned(dir);
  refuseExtendedTsconfig(checkoutDir);
  const partial = `${dir}.${process.pid}-${randomHex(4)}.tmp`;
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  try {
    const modules = modulesDir(checkoutDir);
    // A first build without bytecode (a fraction of the time) names the files; they are stamped before the real one.
    const before = snapshot(allOf(bunBuild(checkoutDir, join(partial, "probe"), false, options.timeoutMs)));
    const out = join(partial, "out");
    const built = bunBuild(checkoutDir, out, true, options.timeoutMs);
    for (const { name } of built) {
      if (!isStrictBytecodeBundle(join(out, prebuiltFile(name))))
        throw new PrebuiltBuildError(`bun wrote no strict bytecode bundle ${name} for ${checkoutDir}`);
      placedSourceMap(join(out, `${prebuiltFile(name)}.map`), dir);
    }
    const after = snapshot(allOf(built));
    if (JSON.stringify(after) !== JSON.stringify(before) || modulesDir(checkoutDir) !== modules) {
      throw new PrebuiltBuildError("org's code changed while it was being built: run `npm run build` again once it is still");
    }
    let bytes = 0;
    for (const { name, inputs } of built) {
      const own = ownStamps(out, dir, name);
      const read = new Set([...inputs.bundled, ...inputs.resolution]);
      const folders = new Set(inputs.probed);
      const manifest: PrebuiltManifest = {
        format: PREBUILT_FORMAT,
        bun: Bun.version,
        checkout: checkoutDir,
        modules,
        files: [...after.files.filter(([path]) => read.has(path)), ...own],
        folders: after.folders.filter(([path]) => folders.has(path)),
        absent: absentModules(checkoutDir, inputs.bundled),
      };
      writeFileSync(join(out, prebuiltManifestFile(name)), `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
      bytes += own.reduce((sum, stamp) => sum + stamp[3], 0);
    }
    const old = `${partial}/old`;
    try {
      renameSync(dir, old);
    } catch {
      // There was none.
    }
    renameSync(out, dir);
    return { files: after.files.length, bytes };
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** A bundle's own files made read-only and stamped where they will be: a rename keeps a file's inode, size and times. */
function ownStamps(out: string, dir: string, name: PrebuiltName): FileStamp[] {
  return prebuiltOwnFiles(name).map((file): FileStamp => {
    chmodSync(join(out, file), 0o444);
    const stamp = fileStamp(join(out, file));
    if (!stamp) throw new PrebuiltBuildError(`bun's output ${file} is missing`);
    const [, dev, ino, size, mtimeMs, ctimeMs] = stamp;
    return [join(dir, file), dev, ino, size, mtimeMs, ctimeMs];
  });
}

/**
 * Readies a bundle's source map written in `out` for the folder `dir` it is renamed to: each source's path made
 * relative to `dir` (bun wrote them relative to where it built, a folder deeper, so a stack named files beside the
 * checkout), the copy of every source file dropped, and the mappings kept to a segment where the source line
 * changes (a frame still names its file and line; its column is where that line's code begins). Bun parses a
 * bundle's map whole the first time it places a stack frame, and a garbage collection does that for every error
 * still alive whose code is being freed: the 7 MB map bun writes cost an `org chat --once` about 85 ms of CPU, this
 * one (0.8 MB) about 10.
 */
function placedSourceMap(mapFile: string, dir: string): void {
  const map: unknown = JSON.parse(readFileSync(mapFile, "utf8"));
  if (typeof map !== "object" || map === null || !("sources" in map) || !Array.isArray(map.sources)) {
    throw new PrebuiltBuildError(`bun's source map ${mapFile} has no sources`);
  }
  if (!("mappings" in map) || typeof map.mappings !== "string") throw new PrebuiltBuildError(`bun's source map ${mapFile} has no mappings`);
  const built = dirname(mapFile);
  const sources = map.sources.map((source) => (typeof source === "string" ? relative(dir, resolve(built, source)) : source));
  // Bun takes a map without `sourcesContent` for an invalid one: a null for each source says "not included".
  writeFileSync(mapFile, JSON.stringify({ ...map, sources, sourcesContent: sources.map(() => null), mappings: lineMappings(map.mappings) }));
}

/** What the bundles were built from together. */
function allOf(built: readonly Built[]): BundleInputs {
  const bundled = [...new Set(built.flatMap(({ inputs }) => inputs.bundled))].sort();
  const read = new Set(bundled);
  const resolution = [...new Set(built.flatMap(({ inputs }) => inputs.resolution))].filter((path) => !read.has(path)).sort();
  return { bundled, resolution, probed: [...new Set(built.flatMap(({ inputs }) => inputs.probed))].sort() };
}

/** The stamps of what a build read and of the folders its imports probed (what a manifest keeps of them). */
function snapshot(inputs: BundleInputs): { files: FileStamp[]; folders: FileStamp[] } {
  const stamped = (paths: readonly string[], stampOf: (path: string) => FileStamp | undefined) =>
    paths.map((path) => {
      const stamp = stampOf(path);
      if (!stamp) throw new PrebuiltBuildError(`${path} went away while org was being built: run \`npm run build\` again`);
      return stamp;
    });
  return {
    files: stamped([...inputs.bundled, ...inputs.resolution], fileStamp),
    folders: stamped(inputs.probed, folderStamp),
  };
}

/**
 * Where a `node_modules` folder would take over an import had it been there: beside every input and every folder
 * above it, up to the checkout (for a package's file, up to the package's folder). None of them exists now.
 */
function absentModules(checkoutDir: string, bundled: readonly string[]): string[] {
  const absent = new Set<string>();
  for (const input of bundled) {
    const top = packageDirOf(input) ?? checkoutDir;
    for (let folder = dirname(input); folder.startsWith(top); folder = dirname(folder)) {
      if (!existsSync(join(folder, "node_modules"))) absent.add(join(folder, "node_modules"));
      if (folder === top) break;
    }
  }
  return [...absent].sort();
}

/** The folder of the package a file in a node_modules belongs to (`…/node_modules/zod`, `…/node_modules/@scope/name`). */
function packageDirOf(path: string): string | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at === -1) return undefined;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  return join(path.slice(0, at), "node_modules", ...(parts[0]?.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)));
}

/** A tsconfig.json that extends another would make that file decide the build too, unstamped: org's has none. */
function refuseExtendedTsconfig(checkoutDir: string): void {
  const text = readFileSync(join(checkoutDir, "tsconfig.json"), "utf8");
  if (/"extends"\s*:/.test(text)) {
    throw new PrebuiltBuildError("tsconfig.json extends another file, which the bundle's stamps would not cover: org runs from source");
  }
}

/** The temporary folders of builds whose process is gone (killed mid-build): removed before a new build starts. */
function removeAbandoned(dir: string): void {
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.`;
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(/^(\d+)-[0-9a-f]+\.tmp$/.exec(entry.slice(prefix.length))?.[1]);
    if (!entry.startsWith(prefix) || !Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
    rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * Runs `bun build` for every entry into `outDir`, in one call: for each bundle the absolute paths of the files it
 * bundled, and of those that decided how it found and compiled them.
 */
function bunBuild(checkoutDir: string, outDir: string, bytecode: boolean, timeoutMs = 120_000): Built[] {
  const metafile = `${outDir}.meta.json`;
  const result = Bun.spawnSync(
    [
      process.execPath,
      ...isolatedBunFlags(checkoutDir),
      "build",
      ...PREBUILT_NAMES.map((name) => join(checkoutDir, prebuiltEntry(name))),
      "--outdir",
      outDir,
      "--target=bun",
      "--format=cjs",
      // Without spaces and with the syntax folded, a start reads its bundle in 0.85× the time (org-main about 4 ms less,
      // docs/benchmarks.md); names are kept, so a bug's stack still names its functions.
      ...(bytecode ? ["--bytecode", '--banner="use strict";', "--sourcemap=linked", "--minify-whitespace", "--minify-syntax"] : []),
      `--define=ORG_PREBUILT_CHECKOUT=${JSON.stringify(checkoutDir)}`,
      ...EXTERNAL.map((name) => `--external=${name}`),
      `--metafile=${metafile}`,
    ],
    { cwd: checkoutDir, stdout: "pipe", stderr: "pipe", env: { PATH: executableSearchPath(), NO_COLOR: "1" }, timeout: timeoutMs },
  );
  if (!result.success) {
    const said = `${result.stderr.toString()}${result.stdout.toString()}`.trim().split("\n").slice(-6).join("\n");
    throw new PrebuiltBuildError(`bun build failed for ${checkoutDir} (exit ${result.exitCode ?? result.signalCode}):\n${said}`);
  }
  const meta: {
    inputs?: Record<string, { imports?: unknown }>;
    outputs?: Record<string, { entryPoint?: unknown; inputs?: Record<string, unknown> }>;
  } = JSON.parse(readFileSync(metafile, "utf8"));
  const outputs = Object.values(meta.outputs ?? {});
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(checkoutDir, path));
  const inputsOf = (name: PrebuiltName): BundleInputs => {
    const output = outputs.find(
      (candidate) => typeof candidate.entryPoint === "string" && absolute(candidate.entryPoint) === join(checkoutDir, prebuiltEntry(name)),
    );
    const inputs = Object.keys(output?.inputs ?? {}).filter((input) => !input.includes(":"));
    if (inputs.length === 0) throw new PrebuiltBuildError(`bun build listed no input files of ${name} for ${checkoutDir}`);
    const bundled = [...new Set(inputs.map(absolute))].sort();
    const read = new Set(bundled);
    const edges = Object.entries(meta.inputs ?? {}).flatMap(([importer, input]) =>
      importEdges(input.imports).map((edge) => ({ importer: absolute(importer), spelled: edge.spelled, found: absolute(edge.found) })),
    );
    return {
      bundled,
      resolution: resolutionFiles(checkoutDir, bundled).filter((path) => !read.has(path)),
      probed: probedFolders(
        bundled,
        edges.filter((edge) => read.has(edge.importer) && read.has(edge.found)),
      ),
    };
  };
  return PREBUILT_NAMES.map((name) => ({ name, inputs: inputsOf(name) }));
}

/** The imports bun's metafile lists for one input: how each was spelled and the file it found. */
function importEdges(imports: unknown): { spelled: string; found: string }[] {
  if (!Array.isArray(imports)) return [];
  return imports.flatMap((entry) =>
    typeof entry?.original === "string" && typeof entry?.path === "string" ? [{ spelled: entry.original, found: entry.path }] : [],
  );
}

/**
 * The folders where a file added could change what an import finds, so their stamps are kept: every folder of a
 * package's files (found through package.json fields, added extensions and index files), the folder of a file an import
 * found by a name other than its own (`./core` → `core.js`, `./x.js` → `x.ts`, a folder's `index.js`) and the folder
 * that name points into, and the folder of a file found by a bare name. An import that spells its file's own name, as
 * every one of org's own does (`./name.ts`), finds that file whatever appears beside it; the file's stamp covers the
 * file itself. So a new folder or file beside org's code (a promotion's first `tools/generated/`) leaves a bundle standing.
 */
function probedFolders(bundled: readonly string[], edges: readonly { importer: string; spelled: string; found: string }[]): string[] {
  const folders = new Set(bundled.filter((path) => path.includes("/node_modules/")).map((path) => dirname(path)));
  for (const { importer, spelled, found } of edges) {
    const relativeName = spelled.startsWith("./") || spelled.startsWith("../") || spelled.startsWith("/");
    if (!relativeName) {
      folders.add(dirname(found));
    } else if (basename(spelled) !== basename(found)) {
      folders.add(dirname(found));
      folders.add(dirname(resolve(dirname(importer), spelled)));
    }
  }
  return [...folders].sort();
}

/**
 * The files that decide how bun resolved and compiled the inputs without being inputs themselves: the checkout's
 * package.json, tsconfig.json and bunfig.toml, what npm last installed (`node_modules/.package-lock.json`), and the
 * package.json of every package an input belongs to (its `exports`, `main`, `type`).
 */
function resolutionFiles(checkoutDir: string, inputs: readonly string[]): string[] {
  const own = ["package.json", "tsconfig.json", "bunfig.toml", "node_modules/.package-lock.json"].map((name) => join(checkoutDir, name));
  const packages = inputs.flatMap((input) => {
    const dir = packageDirOf(input);
    return dir ? [join(dir, "package.json")] : [];
  });
  return [...new Set([...own, ...packages])].filter((path) => fileStamp(path) !== undefined).sort();
}

// `npm run build`, and `npm install` after installing (`--after-install`: a failed build is a warning, since org runs
// from source without one, and the install itself succeeded).
if (import.meta.main) {
  const afterInstall = process.argv.includes("--after-install");
  const started = performance.now();
  try {
    const { files, bytes } = buildPrebuilt(CHECKOUT_DIR);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`org: built ${files} files into ${prebuiltDir(CHECKOUT_DIR)} (${(bytes / 1048576).toFixed(1)} MB) in ${seconds} s`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`org: ${afterInstall ? "warning: " : ""}no prebuilt bundle: ${message}\norg runs from its source files meanwhile.`);
    process.exitCode = afterInstall ? 0 : 1;
  }
}
