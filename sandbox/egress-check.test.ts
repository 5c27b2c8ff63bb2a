import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkEgress } from "./egress-check.ts";
import type { EgressGuard } from "./egress-guard.ts";
import { type EgressKit, egressRunFolder } from "./egress-run.ts";
import { Sandbox } from "./run-sandboxed.ts";
import type { SandboxOptions } from "./sandbox-options.ts";
import { sandboxPolicy } from "./sandbox-policy.ts";
import type { SandboxResult } from "./sandbox-result.ts";

// `org doctor`'s and `org sandbox check`'s probe of the guard, run for real against broken sandboxes: each a real Sandbox
// with one thing wrong, as a regression of run-sandboxed.ts would make it. Its passing case is doctor's
// (cli/config/doctor-command.test.ts).

const root = mkdtempSync(join(tmpdir(), "org-egress-check-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const policy = sandboxPolicy({ poolSize: 0, workspace: "none" });

/**
 * Runs a command given egress in the host's network namespace (bwrap --share-net) with no guard, its bun where the
 * guard's kit puts it: the sandbox a lost --unshare-net would leave.
 */
class HostNetworkSandbox extends Sandbox {
  override async run(options: SandboxOptions): Promise<SandboxResult> {
    const { egress: _dropped, ...rest } = options;
    const { folder, mounts } = egressRunFolder(this.egressKit);
    try {
      return await super.run({ ...rest, policy: { ...options.policy, network: true }, network: true, readOnlyMounts: mounts });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
}

/**
 * Breaks each run's guard as soon as it listens: stopped (its socket answers nobody), or its socket removed while it
 * runs on (nothing there to connect to). Its runs' folders are its own, so the socket removed is the run's.
 */
class GuardGoneSandbox extends Sandbox {
  readonly #runs = mkdtempSync(join(root, "runs-"));
  constructor(readonly how: "stopped" | "removed") {
    super();
  }

  override get egressKit(): EgressKit {
    return { ...super.egressKit, folder: this.#runs };
  }

  override run(options: SandboxOptions): Promise<SandboxResult> {
    const { egress } = options;
    const broken = (guard: EgressGuard) => {
      if (this.how === "stopped") void guard.stop();
      else for (const run of readdirSync(this.#runs)) rmSync(join(this.#runs, run, "guard.sock"), { force: true });
    };
    return super.run(egress === undefined ? options : { ...options, egress: { ...egress, guardStarted: broken } });
  }
}

test("a sandbox that shares the host's network fails the check, saying so and to leave sandbox.egress out", async () => {
  const result = await checkEgress(new HostNetworkSandbox(), policy, join(root, "host-network"));
  expect(result.ok).toBe(false);
  expect(result.detail).toStartWith("a connection around the guard reached a server on the host's loopback (connected reached the host)");
  expect(result.detail).toContain("this sandbox shares the host's network");
  expect(result.detail).toContain("Leave sandbox.egress out of org.config.json until this check passes");
}, 60_000);

const BROKEN = { stopped: "a guard that answers nobody (stopped)", removed: "a guard whose socket is not there (removed)" } as const;

for (const how of ["stopped", "removed"] as const) {
  test(`${BROKEN[how]} fails the check, with what the sandbox got and where to look`, async () => {
    const result = await checkEgress(new GuardGoneSandbox(how), policy, join(root, `guard-${how}`));
    expect(result.ok).toBe(false);
    expect(result.detail).toStartWith("the sandbox could not reach org's egress guard (");
    expect(result.detail).toContain("org's egress guard is not running (it stopped or org ended)");
    expect(result.detail).toContain("commands given sandbox.egress have no network here");
    expect(result.detail).toContain("then run 'org sandbox check' again");
  }, 60_000);
}
