import { afterAll, describe, expect, test } from "bun:test";
import { probeHealth } from "../instances/health-probe.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { DEFAULT_SERVE } from "../config/serve-settings.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { Health, readHealth, toolRunSettings } from "./instance-health.ts";

const checkout = tempGitRepo("org-health-contract-");
afterAll(() => checkout[Symbol.dispose]());
const HEAD = gitSync(checkout.dir, ["rev-parse", "HEAD"]).trim();
const GREETING = { rules: [{ reply: { text: "hello" } }] };

/** Serves `answer` as `/health` on a real socket on 127.0.0.1 for the length of `use`. */
async function onSocket<T>(answer: (request: Request) => Response | Promise<Response>, use: (port: number) => Promise<T>): Promise<T> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: answer });
  try {
    return await use(server.port ?? 0);
  } finally {
    await server.stop(true);
  }
}

describe("the /health contract: one schema for serve, the instance probe and the gate", () => {
  test("serve's answer is exactly the contract, and both readers take it from a real socket", async () => {
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: checkout.dir });
    const answer = await (await fixture.handler.fetch(new Request("http://org.test/health"))).json();
    expect(Health.strict().parse(answer)).toMatchObject({ ok: true, commit: HEAD, branch: "main" });
    await onSocket(
      (request) => fixture.handler.fetch(request),
      async (port) => {
        const probe = await probeHealth(port, 10_000);
        expect(probe.kind === "org" && probe.health.commit).toBe(HEAD);
        expect(await readHealth(port, { timeoutMs: 10_000 })).toMatchObject({ ok: true, commit: HEAD });
      },
    );
  });

  test("a commit that is not a full commit id is refused by both readers", async () => {
    const hostile = { ok: true, version: "1", commit: "--upload-pack=touch x", branch: "main", tools: [], uptimeS: 1 };
    await onSocket(
      () => Response.json(hostile),
      async (port) => {
        expect((await probeHealth(port, 10_000)).kind).toBe("other");
        await expect(readHealth(port, { timeoutMs: 10_000 })).rejects.toThrow("full commit id");
      },
    );
  });

  test("the gate needs only ok and commit (a stand-in current may say no more); the probe needs all of it", async () => {
    await onSocket(
      () => Response.json({ ok: true, commit: HEAD }),
      async (port) => {
        expect(await readHealth(port, { timeoutMs: 10_000 })).toMatchObject({ ok: true, commit: HEAD });
        expect((await probeHealth(port, 10_000)).kind).toBe("other");
      },
    );
  });

  test("settings: serve's /health names how it runs tools, hashed; other serve settings, sandbox bounds or profile give another hash, secrets none", async () => {
    await using fixture = await serveFixture({ script: GREETING, checkoutDir: checkout.dir });
    const answer = Health.parse(await (await fixture.handler.fetch(new Request("http://org.test/health"))).json());
    expect(answer.settings).toBe(toolRunSettings({ serve: fixture.config.serve, sandbox: DEFAULT_SANDBOX_POLICY, profile: "dev", version: "9.9.9" }));
    const base = { serve: DEFAULT_SERVE, sandbox: DEFAULT_SANDBOX_POLICY, profile: "dev", version: "1.0.0" };
    const hash = toolRunSettings(base);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(toolRunSettings({ ...base })).toBe(hash);
    expect(toolRunSettings({ ...base, serve: { ...DEFAULT_SERVE, generatedTools: "deny" } })).not.toBe(hash);
    expect(toolRunSettings({ ...base, sandbox: { ...DEFAULT_SANDBOX_POLICY, enabled: false } })).not.toBe(hash);
    expect(
      toolRunSettings({ ...base, sandbox: { ...DEFAULT_SANDBOX_POLICY, limits: { ...DEFAULT_SANDBOX_POLICY.limits, memoryBytes: 1 } } }),
    ).not.toBe(hash);
    expect(toolRunSettings({ ...base, profile: "prod" })).not.toBe(hash);
    expect(toolRunSettings({ ...base, version: "1.0.1" })).not.toBe(hash);
    // The secrets' values are no part of an answer anyone may read, not even hashed.
    expect(toolRunSettings({ ...base, sandbox: { ...DEFAULT_SANDBOX_POLICY, secretValues: ["hunter2-secret"] } })).toBe(hash);
  });
});
