import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const root = join(import.meta.dir, "..");
const PackageJson = z.object({ engines: z.object({ node: z.string() }) });
const LockFile = z.object({ packages: z.record(z.string(), z.object({ version: z.string().optional(), engines: z.unknown().optional() })) });

// What `npm install` checks: each installed package's engines.node against the running Node. The README's Node
// and package.json's engines must be one version, and every package of the lock file must take it, or npm warns
// EBADENGINE on the very Node the README asks for.
test("the README's Node is package.json's engines.node, and every package in package-lock.json takes it", () => {
  const wanted = PackageJson.parse(JSON.parse(readFileSync(join(root, "package.json"), "utf8"))).engines.node;
  const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(wanted)?.[1];
  expect(minimum, `engines.node is ${wanted}: write it as >=X.Y.Z`).toBeDefined();
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain(`You need Node ${minimum} or later`);
  const lock = LockFile.parse(JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")));
  const refusing = Object.entries(lock.packages).flatMap(([path, entry]) => {
    const engines = entry.engines;
    const range = typeof engines === "object" && engines !== null && "node" in engines && typeof engines.node === "string" ? engines.node : undefined;
    return range !== undefined && !Bun.semver.satisfies(minimum ?? "", range) ? [`${path}@${entry.version}: node ${range}`] : [];
  });
  expect(refusing).toEqual([]);
});
