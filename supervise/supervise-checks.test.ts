import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIX_ACTIONS } from "../config/supervise-settings.ts";
import type { Check } from "./supervise-check.ts";
import { PATTERN_NAMES } from "./pattern-names.ts";
import { checkNamed, fixNamed, SUPERVISE_CHECKS } from "./supervise-checks.ts";

const isCheck = (value: unknown): value is Check =>
  typeof value === "object" &&
  value !== null &&
  "name" in value &&
  typeof value.name === "string" &&
  "run" in value &&
  typeof value.run === "function";

/** Every production module of supervise/ that exports a check, with the checks it exports. */
async function checkFiles(): Promise<{ file: string; checks: Check[] }[]> {
  const files = readdirSync(import.meta.dir).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"));
  const found: { file: string; checks: Check[] }[] = [];
  for (const file of files) {
    const module: Record<string, unknown> = await import(join(import.meta.dir, file));
    const checks = Object.values(module).filter(isCheck);
    if (checks.length > 0) found.push({ file, checks });
  }
  return found;
}

describe("a supervisor check is one file and one entry of SUPERVISE_CHECKS", () => {
  test("every check a file of supervise/ exports is in the list, once, under a name of its own", async () => {
    const exported = (await checkFiles()).flatMap(({ checks }) => checks);
    expect(exported.filter((check) => !SUPERVISE_CHECKS.includes(check)).map((check) => check.name)).toEqual([]);
    const names = SUPERVISE_CHECKS.map((check) => check.name);
    expect(new Set(names).size).toBe(names.length);
    expect(PATTERN_NAMES).toEqual([...names, "heartbeat"]);
    for (const name of names) expect(checkNamed(name)?.name).toBe(name);
  });

  test("every fix action the settings name is one check's fix, and no check's fix is another's", () => {
    const owners = FIX_ACTIONS.map(
      (action) =>
        `${action}: ${SUPERVISE_CHECKS.filter((check) => check.fixes?.[action])
          .map((check) => check.name)
          .join(", ")}`,
    );
    expect(owners.filter((line) => line.endsWith(": ") || line.includes(","))).toEqual([]);
    for (const action of FIX_ACTIONS) expect(fixNamed(action)?.check.fixes?.[action]).toBe(fixNamed(action)?.fix);
    expect(fixNamed("rm -rf /")).toBeUndefined();
  });

  test("a check's findings ask only for its own fixes, each with a target the diagnosis prompt can describe", async () => {
    for (const { file, checks } of await checkFiles()) {
      const asked = [...readFileSync(join(import.meta.dir, file), "utf8").matchAll(/action: "([a-z-]+)"/g)].map((match) => match[1]);
      const own = checks.flatMap((check) => Object.keys(check.fixes ?? {}));
      expect({ file, foreign: asked.filter((action) => !own.includes(action ?? "")) }).toEqual({ file, foreign: [] });
      for (const check of checks) for (const fix of Object.values(check.fixes ?? {})) expect(fix.target.length).toBeGreaterThan(10);
    }
  });

  test("the checks see it when a check file is not in the list", () => {
    const stray: Check = { name: "stray", run: async () => ({ state: "ok", detail: "", findings: [] }) };
    expect([stray].filter((check) => !SUPERVISE_CHECKS.includes(check)).map((check) => check.name)).toEqual(["stray"]);
    expect(checkNamed("stray")).toBeUndefined();
  });
});
