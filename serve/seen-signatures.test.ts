import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { HttpError } from "./http-error.ts";
import { signatureHeaders } from "./request-signature.ts";
import { SeenSignatures } from "./seen-signatures.ts";

const SECRET = "restart-hmac-secret-0123456789";
const workspaces: string[] = [];
let model: ScriptedServer;

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "org-seen-signatures-"));
  chmodSync(dir, 0o755);
  workspaces.push(dir);
  return dir;
}

function hex(index: number): string {
  return index.toString(16).padStart(64, "0");
}

beforeAll(async () => {
  model = await startScriptedServer({ script: { rules: [{ reply: { text: "ok" } }] }, port: 0 });
});
afterAll(async () => {
  await model.stop();
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

/** A real `org serve` on `dir` with signed requests on; its URL once it listens. */
async function startServe(dir: string): Promise<{ child: ReturnType<typeof Bun.spawn>; url: string }> {
  const env: Record<string, string | undefined> = { ...process.env, OLLAMA_BASE: model.url, NO_COLOR: "1", ORG_PROFILE: "dev", ORG_API_HMAC_SECRET: SECRET };
  for (const name of ["ORG_API_TOKEN", "ORG_API_HMAC_TTL_S", "ORG_FSYNC"]) delete env[name];
  const child = Bun.spawn(orgCommand(["serve", "--port", "0", "--workspace", dir]), { env, stdout: "pipe", stderr: "pipe" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  try {
    while (!/listening on (http:\/\/\S+)/.test(text)) {
      if (Date.now() > deadline) throw new Error(`org serve did not start: ${text}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`org serve exited before listening: ${text}${await new Response(child.stderr as ReadableStream).text()}`);
      text += new TextDecoder().decode(value);
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  reader.releaseLock();
  return { child, url: /listening on (http:\/\/\S+)/.exec(text)?.[1] as string };
}

describe("seen HMAC signatures survive a restart", () => {
  test("a signed request replayed to a restarted org serve (killed, or stopped) is refused; a fresh signature passes", async () => {
    const dir = workspace();
    for (const stop of ["SIGKILL", "SIGTERM"] as const) {
      const signed = signatureHeaders(SECRET, "GET", "/v1/tools", "");
      const first = await startServe(dir);
      try {
        expect((await fetch(`${first.url}/v1/tools`, { headers: signed })).status).toBe(200);
      } finally {
        first.child.kill(stop);
        await first.child.exited;
      }
      const second = await startServe(dir);
      try {
        const replay = await fetch(`${second.url}/v1/tools`, { headers: signed });
        expect(`${stop} ${replay.status}`).toBe(`${stop} 401`);
        expect(((await replay.json()) as { error: { message: string } }).error.message).toContain("already received (a replay)");
        // The refusal is the replay's: the same request signed anew runs.
        const fresh = signatureHeaders(SECRET, "GET", "/v1/tools", "", Date.now() + 1_000);
        expect((await fetch(`${second.url}/v1/tools`, { headers: fresh })).status).toBe(200);
      } finally {
        second.child.kill("SIGTERM");
        await second.child.exited;
      }
    }
    const file = join(dir, ".org", "serve", "seen-signatures");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toMatch(/^(\d+ [0-9a-f]{64}\n)+$/);
  }, 180_000);
});

describe("SeenSignatures", () => {
  test("another instance on the same workspace reads them back until they expire; a torn last line is skipped", () => {
    const dir = workspace();
    const now = 1_000_000;
    const first = new SeenSignatures({ workspaceDir: dir }, now);
    first.add(hex(1), now + 5_000, now);
    first.add(hex(2), now + 60_000, now);
    first.close();
    appendFileSync(join(dir, ".org", "serve", "seen-signatures"), `${now + 60_000} ${hex(3).slice(0, 20)}`);
    const later = new SeenSignatures({ workspaceDir: dir }, now + 10_000);
    expect(later.has(hex(1), now + 10_000)).toBe(false);
    expect(later.has(hex(2), now + 10_000)).toBe(true);
    expect(later.has(hex(3), now + 10_000)).toBe(false);
    // Rewritten at start with the live one only.
    expect(readFileSync(join(dir, ".org", "serve", "seen-signatures"), "utf8")).toBe(`${now + 60_000} ${hex(2)}\n`);
    later.close();
  });

  test("bounded: past maxEntries live signatures a new one is 429 with Retry-After; once they expire it is taken", () => {
    const now = 5_000_000;
    const seen = new SeenSignatures({ workspaceDir: workspace(), maxEntries: 3 }, now);
    for (let index = 0; index < 3; index++) seen.add(hex(index), now + 30_000, now);
    let refused: unknown;
    try {
      seen.add(hex(9), now + 30_000, now);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).status).toBe(429);
    expect((refused as HttpError).headers?.["retry-after"]).toBe("30");
    expect(seen.has(hex(9), now)).toBe(false);
    seen.add(hex(9), now + 90_000, now + 31_000);
    expect(seen.size).toBe(1);
    seen.close();
  });

  test("the file is compacted while it runs: expired lines are dropped once they outnumber the live ones", () => {
    const dir = workspace();
    const file = join(dir, ".org", "serve", "seen-signatures");
    let now = 10_000_000;
    const seen = new SeenSignatures({ workspaceDir: dir, compactAbove: 50 }, now);
    let largest = 0;
    for (let index = 0; index < 2_000; index++) {
      now += 100;
      // Each lives 1 s: about 10 are live at a time.
      seen.add(hex(index), now + 1_000, now);
      largest = Math.max(largest, seen.lines);
    }
    expect(largest).toBeLessThanOrEqual(101);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeLessThanOrEqual(101);
    expect(lines.length).toBe(seen.lines);
    expect(seen.has(hex(1_999), now)).toBe(true);
    seen.close();
  });
});
