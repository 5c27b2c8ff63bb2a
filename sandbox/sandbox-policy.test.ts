import { egressRules } from "../config/egress-policy.ts";
import { expect, test } from "bun:test";
import { DEFAULT_LIMITS, DEFAULT_TIMEOUT_MS } from "./sandbox-limits.ts";
import { DEFAULT_SANDBOX_POLICY, describeSandboxPolicy, SandboxPolicyError, sandboxPolicy } from "./sandbox-policy.ts";
import { MAX_POOL_SIZE } from "./sandbox-pool.ts";

test("the default policy sandboxes, shares no network, and holds the default bounds", () => {
  expect(DEFAULT_SANDBOX_POLICY).toEqual({
    enabled: true,
    network: false,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    limits: DEFAULT_LIMITS,
    poolSize: MAX_POOL_SIZE,
    secretValues: [],
    workspace: "read",
    secretPaths: [".env*", ".npmrc", "*.pem", "*.key", "id_*", ".netrc", ".git-credentials"],
  });
  expect(sandboxPolicy()).toEqual(DEFAULT_SANDBOX_POLICY);
  expect(Object.isFrozen(sandboxPolicy({ secretValues: ["a-secret-value"] }).secretValues)).toBe(true);
});

test("a change keeps every field it does not name; a limit changes alone", () => {
  const policy = sandboxPolicy({ poolSize: 0, limits: { memoryBytes: 256 * 1024 * 1024 } });
  expect(policy.poolSize).toBe(0);
  expect(policy.limits).toEqual({ ...DEFAULT_LIMITS, memoryBytes: 256 * 1024 * 1024 });
  expect(policy.enabled).toBe(true);
});

test("a value that would disable a bound is refused, naming the field and what to give", () => {
  expect(() => sandboxPolicy({ timeoutMs: 0 })).toThrow(
    new SandboxPolicyError("sandbox policy timeoutMs is 0: give a positive finite number, or leave it out for the default"),
  );
  expect(() => sandboxPolicy({ limits: { processes: Number.POSITIVE_INFINITY } })).toThrow(
    /limits\.processes is Infinity: give a positive finite number/,
  );
  expect(() => sandboxPolicy({ poolSize: 3 })).toThrow(
    `sandbox policy poolSize is 3: give a whole number from 0 to ${MAX_POOL_SIZE} (0 starts none ahead)`,
  );
  expect(() => sandboxPolicy({ poolSize: 1.5 })).toThrow(SandboxPolicyError);
});

test("described for a person: on or off, network, time, memory, mounts; a secret's value never shown", () => {
  const lines = describeSandboxPolicy(sandboxPolicy({ secretValues: ["tok-abcdef-123456"] }));
  expect(lines.map((line) => line.name)).toEqual([
    "sandbox",
    "network",
    "egress",
    "time",
    "memory",
    "processes",
    "mounts",
    "output",
    "workspace",
    "started ahead",
    "secrets",
  ]);
  const text = lines.map((line) => `${line.name}: ${line.detail}`).join("\n");
  expect(text).toContain("sandbox: on: every model-made command runs in bubblewrap");
  expect(text).toContain("network: none");
  expect(text).toContain("egress: none: no sandbox.egress, so commands reach no network");
  const egress = egressRules({ allow: ["*.example.com"], deny: ["bad.example.com"], presets: ["pypi"], unlisted: "ask" });
  expect(describeSandboxPolicy(sandboxPolicy({ egress })).find((line) => line.name === "egress")?.detail).toBe(
    "through org's egress guard: *.example.com, pypi (pypi.org, files.pythonhosted.org), never bad.example.com; ports 443, 80 (tunnels to 443); " +
      "a host on neither list is asked about in a room, refused elsewhere",
  );
  expect(text).toContain("time: 30 s wall clock");
  expect(text).toContain("memory: 4 GiB address space per process, 2 GiB resident");
  expect(text).toContain("/scratch read-write (512 MiB, 20000 entries)");
  expect(text).toContain("secrets: 1 secret value(s)");
  expect(text).not.toContain("tok-abcdef-123456");
  expect(describeSandboxPolicy(sandboxPolicy({ enabled: false }))[0]?.detail).toContain("OFF (ORG_SANDBOX=off)");
});
