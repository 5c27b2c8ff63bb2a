import { z } from "zod";
import { sleep } from "../concurrency/sleep.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { OBJECT_ID_PATTERN } from "../git/ref-names.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * What `GET /health` of an org server answers: the one definition of the contract. `serve` builds its
 * answer against it, `instances/` probes with it, and the gate and promote read its `ok` and `commit`.
 */
export const Health = z.object({
  ok: z.boolean(),
  profile: z.enum(["dev", "prod"]).optional(),
  version: z.string(),
  /** Null when the server does not run from a git checkout. */
  commit: z.string().regex(OBJECT_ID_PATTERN, "must be a full commit id").nullable(),
  branch: z.string().nullable(),
  tools: z.array(z.string()),
  uptimeS: z.number(),
  /** Set when the checkout moved past what this process can hot-reload. */
  restartNeeded: z.string().optional(),
  /** What decides how this instance runs a tool over HTTP, hashed (`toolRunSettings`). */
  settings: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type Health = z.infer<typeof Health>;

/**
 * What decides how an instance runs a tool over `POST /v1/tools/:name/run`, hashed: its `serve` settings (which
 * tools HTTP may run), its sandbox policy but the secret values (on or off, network, time limit, bounds), its profile,
 * org's version and the bun it runs on. `/health` shows it, so a gate's record of a tool's scenario holds only between
 * instances set up as they were then (`tool-scenario-records.ts`); the secrets stay out of an answer anyone may read.
 */
export function toolRunSettings(parts: { serve: unknown; sandbox: SandboxPolicy; profile: string; version: string }): string {
  const { secretValues: _secrets, ...sandbox } = parts.sandbox;
  const content = { version: 1, serve: parts.serve, sandbox, profile: parts.profile, org: parts.version, bun: `${Bun.version} ${Bun.revision}` };
  return new Bun.CryptoHasher("sha256").update(canonicalJson(content)).digest("hex");
}

/** The part of the contract the gate and promote rely on: `ok` and a commit (other fields are not needed). */
export const InstanceHealth = z.looseObject({
  ok: Health.shape.ok,
  commit: Health.shape.commit.unwrap(),
  version: z.string().optional(),
  settings: Health.shape.settings,
});
export type InstanceHealth = z.infer<typeof InstanceHealth>;

/** An instance did not answer /health usefully; the message says which port and what it answered. */
export class InstanceUnreachableError extends OrgError {
  override name = "InstanceUnreachableError";
}

/** One `GET http://127.0.0.1:<port>/health`, bounded by `timeoutMs`; the body is hostile input and is validated. */
export async function readHealth(port: number, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<InstanceHealth> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 3_000), ...(options.signal ? [options.signal] : [])];
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.any(signals), redirect: "error" });
  } catch (error) {
    throw new InstanceUnreachableError(`nothing answered http://127.0.0.1:${port}/health (${error instanceof Error ? error.message : error})`);
  }
  const text = (await response.text()).slice(0, 10_000);
  let parsed: ReturnType<typeof InstanceHealth.safeParse>;
  try {
    parsed = InstanceHealth.safeParse(JSON.parse(text));
  } catch {
    throw new InstanceUnreachableError(`http://127.0.0.1:${port}/health answered ${response.status} with no JSON`);
  }
  if (!parsed.success)
    throw new InstanceUnreachableError(`http://127.0.0.1:${port}/health answered without a usable commit (${parsed.error.issues[0]?.message})`);
  return parsed.data;
}

/** Polls /health until it reports `ok` at `commit`, for at most `timeoutMs`; says what it last saw otherwise. */
export async function waitForCommit(
  port: number,
  commit: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  // A restarted instance is usually up within a second: poll every 25 ms for the first 3 s, then every 200 ms.
  const often = Date.now() + 3_000;
  for (;;) {
    try {
      const health = await readHealth(port, { timeoutMs: Math.max(500, Math.min(3_000, deadline - Date.now())), signal: options.signal });
      if (health.ok && health.commit === commit) return { ok: true, detail: `healthy at ${commit.slice(0, 12)}` };
      last = `answered ok=${health.ok} at ${health.commit.slice(0, 12)}`;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      last = (error instanceof Error ? error.message || error.name : String(error)) || "no answer";
    }
    if (Date.now() >= deadline) return { ok: false, detail: `after ${Math.round(options.timeoutMs / 1000)} s on port ${port}: ${last}` };
    await sleep(Math.min(Date.now() < often ? 25 : 200, Math.max(0, deadline - Date.now())), options.signal);
  }
}
