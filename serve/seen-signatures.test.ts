import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { startOrgServe } from "../testing/org-serve-process.ts";
import { rawHttp } from "../testing/serve-fixture.ts";
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

function startServe(dir: string) {
  // A TTL far longer than two starts take on a loaded machine: the replay is refused as a replay, not as stale.
  // A body's deadline of a second: the variable reaches the server a person starts (issue 74, item 7).
  return startOrgServe({
    workspace: dir,
    modelUrl: model.url,
    env: { ORG_API_HMAC_SECRET: SECRET, ORG_API_HMAC_TTL_S: "3600", ORG_API_HMAC_BODY_TIMEOUT_S: "1" },
  });
}

describe("seen HMAC signatures survive a restart", () => {
  test("a signed request replayed to a restarted org serve (killed, or stopped) is refused; a fresh signature passes", async () => {
    const dir = workspace();
    for (const stop of ["SIGKILL", "SIGTERM"] as const) {
      const first = await startServe(dir);
      // Each round signs its own path: two rounds within one second would otherwise sign the very same request.
      const path = `/v1/tools?round=${stop}`;
      const signed = signatureHeaders(SECRET, "GET", path, "");
      try {
        expect((await fetch(`${first.url}${path}`, { headers: signed })).status).toBe(200);
      } finally {
        await first.stop(stop);
      }
      const second = await startServe(dir);
      try {
        const replay = await fetch(`${second.url}${path}`, { headers: signed });
        expect(`${stop} ${replay.status}`).toBe(`${stop} 401`);
        expect(((await replay.json()) as { error: { message: string } }).error.message).toContain("already received (a replay)");
        // The refusal is the replay's: a request signed anew runs.
        const fresh = signatureHeaders(SECRET, "GET", `/v1/tools?after=${stop}`, "");
        expect((await fetch(`${second.url}/v1/tools?after=${stop}`, { headers: fresh })).status).toBe(200);
        if (stop === "SIGTERM") {
          // A made-up signature whose body never completes is cut at ORG_API_HMAC_BODY_TIMEOUT_S: 408, and closed.
          const port = Number(new URL(second.url).port);
          const stalled = await rawHttp(
            port,
            `POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n` +
              `x-org-timestamp: ${Math.floor(Date.now() / 1000)}\r\nx-org-signature: sha256=${"ab".repeat(32)}\r\n\r\n{"text":`,
          );
          expect(stalled.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
        }
      } finally {
        await second.stop();
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
