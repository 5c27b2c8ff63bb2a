import { expect, test } from "bun:test";
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSeccompFilter } from "./seccomp-filter.ts";
import { prepareSandboxSupport } from "./sandbox-support.ts";

test("one support dir per user and content, shared by processes, writable only by its owner", async () => {
  const directory = prepareSandboxSupport();
  const script = `import { prepareSandboxSupport } from ${JSON.stringify(join(import.meta.dir, "sandbox-support.ts"))}; console.log(prepareSandboxSupport());`;
  const other = Bun.spawnSync([process.execPath, "-e", script]).stdout.toString().trim();
  expect(other).toBe(directory);
  const stat = lstatSync(directory);
  expect(stat.isDirectory()).toBe(true);
  expect(stat.uid).toBe(process.getuid?.() ?? 0);
  expect(stat.mode & 0o022).toBe(0);
  expect(readFileSync(join(directory, "seccomp.bpf")).equals(Buffer.from(buildSeccompFilter()))).toBe(true);
  expect(readFileSync(join(directory, "passwd"), "utf8")).toContain("sandbox:x:65534:65534");
});
