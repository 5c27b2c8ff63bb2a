import { afterAll, expect, spyOn, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import fc from "fast-check";
import * as fastCheck from "fast-check";
import * as zod from "zod";
import { type BundledPackage, bundledPackage } from "./bundled-package.ts";
import { BYTECODE_ENTRIES } from "./sandbox-toolchain.ts";

const packageDir = (name: string) => dirname(Bun.resolveSync(`${name}/package.json`, import.meta.dir));
const root = mkdtempSync(join(tmpdir(), "org-bundled-package-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The sandbox's layout in a folder of its own: the shim over the package's entry, the bundle's folder beside it. */
function sandboxLayout(name: string, entry: string, bundle: BundledPackage): string {
  const modules = join(root, `app-${name}`, "node_modules");
  mkdirSync(join(modules, name, dirname(entry)), { recursive: true });
  copyFileSync(join(packageDir(name), "package.json"), join(modules, name, "package.json"));
  copyFileSync(bundle.shim, join(modules, name, entry));
  symlinkSync(bundle.dir, join(modules, bundle.mountName));
  return join(modules, name, entry);
}

function built(name: string, entry: string): BundledPackage {
  const bundle = bundledPackage(packageDir(name), entry, join(root, "cache"));
  if (!bundle) throw new Error(`${name} was not bundled`);
  return bundle;
}

test("each entry is the file an import of its package loads", () => {
  for (const [name, entry] of BYTECODE_ENTRIES) expect(relative(packageDir(name), Bun.resolveSync(name, import.meta.dir))).toBe(entry);
});

test("a bundle is built once into its cache folder, whole, and found there again", () => {
  const cacheDir = join(root, "cache-once");
  const bundle = bundledPackage(packageDir("zod"), "index.js", cacheDir);
  expect(bundle).toBeDefined();
  // A second call finds the build on disk and starts no bun build.
  const spawns = spyOn(Bun, "spawnSync");
  try {
    expect(bundledPackage(packageDir("zod"), "index.js", cacheDir)).toEqual(bundle as BundledPackage);
    expect(spawns).not.toHaveBeenCalled();
  } finally {
    spawns.mockRestore();
  }
  expect(readdirSync(cacheDir)).toEqual([(bundle?.dir ?? "").slice(cacheDir.length + 1)]);
  expect(readdirSync(bundle?.dir ?? "").sort()).toEqual(["index.js", "index.js.jsc", "shim.js"]);
});

test("zod through the shim exports what zod's own does, runs in strict mode, and behaves the same", async () => {
  const bundled = (await import(sandboxLayout("zod", "index.js", built("zod", "index.js")))) as typeof zod;
  expect(Object.keys(bundled).sort()).toEqual(Object.keys(zod).sort());
  expect(Object.keys(bundled.z).sort()).toEqual(Object.keys(zod.z).sort());
  expect(bundled.default).toBe(bundled.z);
  expect(bundled.z.string).not.toBe(zod.z.string);
  // zod's ES modules run in strict mode, and so does the CommonJS bundle: a strict function's `caller` throws.
  expect(() => (bundled.z.string as unknown as { caller: unknown }).caller).toThrow();
  const schema: zod.z.core.JSONSchema.JSONSchema = {
    type: "object",
    properties: { text: { type: "string", minLength: 2 } },
    required: ["text"],
    additionalProperties: false,
  };
  for (const input of [{ text: "ab" }, { text: "a" }, { text: 5 }, { other: 1 }, null]) {
    const ours = bundled.z.fromJSONSchema(schema).safeParse(input);
    const theirs = zod.z.fromJSONSchema(schema).safeParse(input);
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
  }
  const shape = (z: typeof zod.z) => z.object({ n: z.number().int().min(0), tags: z.array(z.enum(["a", "b"])).max(3) });
  expect(bundled.z.toJSONSchema(shape(bundled.z))).toEqual(zod.z.toJSONSchema(shape(zod.z)));
  expect(shape(bundled.z).safeParse({ n: -1, tags: ["c"] }).error?.issues).toEqual(shape(zod.z).safeParse({ n: -1, tags: ["c"] }).error?.issues);
});

test("fast-check through the shim exports what its own does, runs in strict mode, and draws the same values", async () => {
  const bundled = (await import(sandboxLayout("fast-check", "lib/fast-check.js", built("fast-check", "lib/fast-check.js")))) as typeof fastCheck;
  expect(Object.keys(bundled).sort()).toEqual(Object.keys(fastCheck).sort());
  expect(Object.keys(bundled.default).sort()).toEqual(Object.keys(fc).sort());
  expect(bundled.integer).not.toBe(fc.integer);
  expect(() => (bundled.integer as unknown as { caller: unknown }).caller).toThrow();
  const draw = (f: typeof fc) =>
    f.sample(f.record({ n: f.integer(), s: f.string(), xs: f.array(f.nat(), { maxLength: 4 }) }), { seed: 42, numRuns: 20 });
  expect(draw(bundled.default)).toEqual(draw(fc));
  const failure = (f: typeof fc) =>
    f.check(
      f.property(f.integer(), (n) => n < 1000),
      { seed: 7 },
    );
  expect(failure(bundled.default).counterexample).toEqual(failure(fc).counterexample);
});
