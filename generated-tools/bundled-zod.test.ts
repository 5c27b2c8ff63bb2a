import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as zod from "zod";
import { bundledZodEntry } from "./bundled-zod.ts";

const zodDir = dirname(Bun.resolveSync("zod/package.json", import.meta.dir));
const root = mkdtempSync(join(tmpdir(), "org-bundled-zod-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("the bundle is built once into its cache folder, whole, and found there again", () => {
  const cacheDir = join(root, "cache");
  const entry = bundledZodEntry(zodDir, cacheDir);
  expect(entry).toBeDefined();
  expect(bundledZodEntry(zodDir, cacheDir)).toBe(entry as string);
  expect(readdirSync(cacheDir)).toEqual([(entry as string).slice(cacheDir.length + 1)]);
});

test("the bundled entry exports what zod's own does, and behaves the same", async () => {
  const entry = bundledZodEntry(zodDir, join(root, "cache"));
  expect(entry).toBeDefined();
  const bundled = (await import(entry as string)) as typeof zod;
  expect(Object.keys(bundled).sort()).toEqual(Object.keys(zod).sort());
  expect(Object.keys(bundled.z).sort()).toEqual(Object.keys(zod.z).sort());
  expect(bundled.default).toBe(bundled.z);
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
