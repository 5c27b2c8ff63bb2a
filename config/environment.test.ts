import { describe, expect, test } from "bun:test";
import {
  EnvironmentError,
  environmentSettings,
  fsyncEnabled,
  instanceSettings,
  processEnvironment,
  serveEnvironment,
  tmuxSessionName,
} from "./environment.ts";
import { join } from "node:path";
import { runOpsScript } from "../testing/run-ops-script.ts";

const CHECKOUT = join(import.meta.dir, "..");
const KEPT = ["org", "org-test_2", "A".repeat(64)];
const CHANGED = ["o.rg", "org:1", "a b", "tab\there", "back\\slash", "new\nline", "ünï", "x".repeat(65), "$1", "=org"];

test("processEnvironment: the process's environment with a command line's values over it, the process's own left as it was", () => {
  const before = process.env.OLLAMA_MODEL;
  const env = processEnvironment({ OLLAMA_MODEL: "from-the-command-line" });
  expect(env.OLLAMA_MODEL).toBe("from-the-command-line");
  expect(env.PATH).toBe(process.env.PATH);
  expect(process.env.OLLAMA_MODEL).toBe(before);
  expect(processEnvironment()).toEqual({ ...process.env });
});

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

describe("ORG_PROFILE", () => {
  test("dev by default: no fsync, sandbox off allowed; prod fsyncs and refuses ORG_SANDBOX=off", () => {
    expect(environmentSettings({}).profile).toBe("dev");
    expect(environmentSettings({}).fsync).toBe(false);
    expect(environmentSettings({ ORG_SANDBOX: "off" }).sandboxDisabled).toBe(true);
    expect(environmentSettings({ ORG_PROFILE: "prod" }).fsync).toBe(true);
    expect(() => environmentSettings({ ORG_PROFILE: "prod", ORG_SANDBOX: "off" })).toThrow(/refused under ORG_PROFILE=prod/);
    expect(() => environmentSettings({ ORG_PROFILE: "production" })).toThrow(EnvironmentError);
  });

  test("a variable set explicitly wins over the profile", () => {
    expect(fsyncEnabled({ ORG_PROFILE: "prod", ORG_FSYNC: "off" })).toBe(false);
    expect(fsyncEnabled({ ORG_FSYNC: "on" })).toBe(true);
    expect(() => fsyncEnabled({ ORG_FSYNC: "maybe" })).toThrow(/not a switch/);
  });

  test("serve's variables: HMAC secret and TTL, dedup TTL, with defaults and refusals", () => {
    expect(serveEnvironment({})).toMatchObject({ hmacSecret: undefined, hmacTtlS: 60, dedupTtlS: 300, profile: "dev" });
    expect(serveEnvironment({ ORG_API_HMAC_SECRET: " s3cret-value ", ORG_API_HMAC_TTL_S: "30", ORG_SERVE_DEDUP_TTL_S: "5" })).toMatchObject({
      hmacSecret: "s3cret-value",
      hmacTtlS: 30,
      dedupTtlS: 5,
    });
    for (const bad of ["0", "-1", "ten", "1e9"]) expect(() => serveEnvironment({ ORG_SERVE_DEDUP_TTL_S: bad })).toThrow(/ORG_SERVE_DEDUP_TTL_S/);
    expect(serveEnvironment({})).toMatchObject({ hmacBodyTimeoutS: 10, hmacBodiesPerClient: 8 });
    expect(serveEnvironment({ ORG_API_HMAC_BODY_TIMEOUT_S: "0.5", ORG_API_HMAC_BODIES_PER_CLIENT: "2" })).toMatchObject({
      hmacBodyTimeoutS: 0.5,
      hmacBodiesPerClient: 2,
    });
    expect(() => serveEnvironment({ ORG_API_HMAC_BODY_TIMEOUT_S: "0" })).toThrow(/ORG_API_HMAC_BODY_TIMEOUT_S/);
    expect(() => serveEnvironment({ ORG_API_HMAC_BODIES_PER_CLIENT: "0" })).toThrow(/ORG_API_HMAC_BODIES_PER_CLIENT/);
  });

  test("serve's job bounds: TTL (a day), queue cap (1000), compaction threshold (1 MiB), with refusals naming the variable", () => {
    expect(serveEnvironment({})).toMatchObject({ jobTtlS: 86_400, jobQueueMax: 1_000, jobLogCompactBytes: 1_048_576 });
    expect(serveEnvironment({ ORG_SERVE_JOB_TTL_S: "2", ORG_SERVE_JOB_QUEUE_MAX: "5", ORG_SERVE_JOB_LOG_COMPACT_BYTES: "1" })).toMatchObject({
      jobTtlS: 2,
      jobQueueMax: 5,
      jobLogCompactBytes: 1,
    });
    for (const bad of ["0", "-1", "ten", "1.5", "2000000"])
      expect(() => serveEnvironment({ ORG_SERVE_JOB_QUEUE_MAX: bad })).toThrow(/ORG_SERVE_JOB_QUEUE_MAX/);
    expect(() => serveEnvironment({ ORG_SERVE_JOB_TTL_S: "0" })).toThrow(/ORG_SERVE_JOB_TTL_S/);
  });
});
