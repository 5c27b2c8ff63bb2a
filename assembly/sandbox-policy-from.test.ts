import { expect, test } from "bun:test";
import { EnvironmentError } from "../config/environment.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { sandboxPolicyFrom } from "./sandbox-policy-from.ts";

test("an environment without sandbox settings gives the default policy", () => {
  expect(sandboxPolicyFrom({ env: {} })).toEqual(DEFAULT_SANDBOX_POLICY);
  expect(sandboxPolicyFrom({ env: { ORG_SANDBOX: "on" } }).enabled).toBe(true);
  expect(sandboxPolicyFrom({ env: { ORG_SANDBOX: "" } }).enabled).toBe(true);
});

test("ORG_SANDBOX=off turns the sandbox off; nothing else does", () => {
  expect(sandboxPolicyFrom({ env: { ORG_SANDBOX: "off" } }).enabled).toBe(false);
  expect(sandboxPolicyFrom({ env: { ORG_SANDBOX: "on", ORG_PROFILE: "prod" } }).enabled).toBe(true);
});

test("the secrets are the environment's and the config's servers' keys, each once", () => {
  const policy = sandboxPolicyFrom({
    env: { OPENAI_API_KEY: "sk-from-the-environment", OLLAMA_BASE: "http://user:url-password-1@127.0.0.1:11434" },
    config: { secrets: ["key-from-the-config", "sk-from-the-environment"] },
  });
  expect([...policy.secretValues].sort()).toEqual(["key-from-the-config", "sk-from-the-environment", "url-password-1"]);
});

test("an entry point's own changes: no sandboxes started ahead, the network for `sandbox run --net`", () => {
  const policy = sandboxPolicyFrom({ env: {}, changes: { poolSize: 0, network: true } });
  expect(policy).toMatchObject({ poolSize: 0, network: true, enabled: true });
});

test("bad values stop it with a message naming the variable and what to write", () => {
  const refused = (env: NodeJS.ProcessEnv) => {
    try {
      sandboxPolicyFrom({ env });
    } catch (error) {
      expect(error).toBeInstanceOf(EnvironmentError);
      return (error as Error).message;
    }
    throw new Error("expected a refusal");
  };
  expect(refused({ ORG_SANDBOX: "maybe" })).toBe(
    "ORG_SANDBOX=maybe is not a setting org knows: leave it unset (or 'on') to sandbox every tool, or 'off' to run them on the host unsandboxed",
  );
  expect(refused({ ORG_SANDBOX: "off", ORG_PROFILE: "prod" })).toBe(
    "ORG_SANDBOX=off is refused under ORG_PROFILE=prod: production runs every tool in the sandbox. Unset ORG_SANDBOX, or use ORG_PROFILE=dev",
  );
  expect(refused({ ORG_PROFILE: "production" })).toContain("ORG_PROFILE=production is not a profile org knows: use 'dev'");
});
