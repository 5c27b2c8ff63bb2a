import { describe, expect, test } from "bun:test";
import { EnvironmentError, environmentSettings, fsyncEnabled, serveEnvironment } from "./environment.ts";

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
    expect(serveEnvironment({ ORG_API_HMAC_SECRET: " s3cret-value ", ORG_API_HMAC_TTL_S: "30", ORG_SERVE_DEDUP_TTL_S: "5" })).toMatchObject({ hmacSecret: "s3cret-value", hmacTtlS: 30, dedupTtlS: 5 });
    for (const bad of ["0", "-1", "ten", "1e9"]) expect(() => serveEnvironment({ ORG_SERVE_DEDUP_TTL_S: bad })).toThrow(/ORG_SERVE_DEDUP_TTL_S/);
  });
});
