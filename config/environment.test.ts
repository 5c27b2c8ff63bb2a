import { expect, test } from "bun:test";
import { join } from "node:path";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { EnvironmentError, instanceSettings, tmuxSessionName } from "./environment.ts";

const CHECKOUT = join(import.meta.dir, "..");
const KEPT = ["org", "org-test_2", "A".repeat(64)];
const CHANGED = ["o.rg", "org:1", "a b", "tab\there", "back\\slash", "new\nline", "ünï", "x".repeat(65), "$1", "=org"];

test("ORG_TMUX_SESSION: names tmux would change are refused in one place, with what to use instead", () => {
  for (const name of KEPT) expect(tmuxSessionName({ ORG_TMUX_SESSION: name })).toBe(name);
  expect(tmuxSessionName({})).toBe("org");
  for (const name of CHANGED) expect(() => tmuxSessionName({ ORG_TMUX_SESSION: name })).toThrow(EnvironmentError);
  expect(() => instanceSettings({ ORG_TMUX_SESSION: "o.rg" })).toThrow(
    `ORG_TMUX_SESSION="o.rg" is not a name tmux keeps as given (it turns '.' and ':' into '_' and escapes other characters), so org could not find its session again. Use 1 to 64 letters, digits, '_' and '-', e.g. "o_rg".`,
  );
});

test("the ops scripts that call tmux themselves apply the same rule: same names kept, same refused, nothing started", async () => {
  const run = (script: string, name: string, args: string[] = []) =>
    runOpsScript(CHECKOUT, script, args, { cwd: CHECKOUT, env: { PATH: "/usr/bin:/bin", ORG_TMUX_SESSION: name } });
  for (const name of KEPT) expect([name, (await run("tmux-session.sh", name)).code]).toEqual([name, 0]);
  for (const name of CHANGED) expect([name, (await run("tmux-session.sh", name)).code]).toEqual([name, 2]);
  for (const script of ["stop.sh", "run.sh"]) {
    const refused = await run(script, "o.rg");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${script}: ORG_TMUX_SESSION=o.rg is not a name tmux keeps as given`);
    expect(refused.stderr).toContain("e.g. o_rg.");
  }
});
