import { expect, test } from "bun:test";
import { importersOf, modulesLoadedBy } from "../testing/loaded-modules.ts";

// `org sandbox run` is one sandboxed call and an exit: its whole-process time is mostly module loading. The config's
// schemas (and zod with them, 95 files) once came along with the sandbox policy's list of workspace views, and the
// write view's copies (a fifth of the rest) with the read view, which makes none.
test("org sandbox run runs the command without loading zod, the config file's schemas or the write view's copies", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(["sandbox", "run", "--", "/bin/true"]);
  expect(exitCode).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ exitCode: 0, timedOut: false });
  expect(modules).toContain("sandbox/run-sandboxed.ts");
  expect(modules.filter((path) => path.startsWith("node_modules/") || path === "config/org-config.ts")).toEqual([]);
  const copies = ["workspace/workspace-copies.ts", "workspace/private-copy.ts", "workspace/spare-copy.ts"];
  expect(modules.filter((path) => copies.includes(path))).toEqual([]);
  // node:util (parseArgs) and node:crypto cost more to load than the call's own argument handling and hashing.
  expect(importersOf(modules, ["node:util", "node:crypto"])).toEqual([]);
});
