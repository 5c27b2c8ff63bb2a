import { afterAll, beforeAll, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { DEFAULT_NETWORK } from "../config/network-settings.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { orgCodeCopy } from "../testing/org-clone.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { webFetchTool } from "../tools/web-fetch.ts";
import { signatureHeaders } from "./request-signature.ts";

let workspace = "";
let model: ScriptedServer;
// org's code alone: the profile is no matter of this checkout's git state or promoted tools, which are then never
// read (so the gate does not count this file a reader of a candidate's tools).
const code = orgCodeCopy("org-serve-profile-code-");
beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "org-serve-profile-"));
  chmodSync(workspace, 0o755);
  model = await startScriptedServer({ script: { rules: [{ reply: { text: "ok" } }] }, port: 0 });
});
afterAll(async () => {
  await model.stop();
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

function serve(env: Record<string, string>) {
  const base: Record<string, string | undefined> = { ...process.env, OLLAMA_BASE: model.url, NO_COLOR: "1" };
  for (const name of ["ORG_API_TOKEN", "ORG_API_HMAC_SECRET", "ORG_SANDBOX", "ORG_PROFILE", "ORG_FSYNC"]) delete base[name];
  return Bun.spawn(orgCommand(["serve", "--port", "0", "--workspace", workspace], { checkoutDir: code.dir }), {
    env: { ...base, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

test("ORG_PROFILE=prod refuses to start on loopback without a token or HMAC secret, and with ORG_SANDBOX=off", async () => {
  const bare = serve({ ORG_PROFILE: "prod" });
  expect(await bare.exited).toBe(1);
  expect(await new Response(bare.stderr).text()).toContain("ORG_PROFILE=prod needs ORG_API_TOKEN or ORG_API_HMAC_SECRET");
  const unsandboxed = serve({ ORG_PROFILE: "prod", ORG_API_TOKEN: "prod-token-123", ORG_SANDBOX: "off" });
  expect(await unsandboxed.exited).toBe(1);
  expect(await new Response(unsandboxed.stderr).text()).toContain("ORG_SANDBOX=off is refused under ORG_PROFILE=prod");
});

test("ORG_PROFILE=prod with an HMAC secret: /health says prod, unsigned requests are 401, signed ones run", async () => {
  const secret = "prod-hmac-secret-abcdef";
  const child = serve({ ORG_PROFILE: "prod", ORG_API_HMAC_SECRET: secret });
  try {
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!/listening on (http:\/\/\S+)/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve exited: ${text}`);
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    expect(text).toContain("profile prod");
    const url = /listening on (http:\/\/\S+)/.exec(text)?.[1] as string;
    expect(((await (await fetch(`${url}/health`)).json()) as { profile: string }).profile).toBe("prod");
    const body = JSON.stringify({ text: "hello", mode: "direct:agent" });
    expect((await fetch(post(`${url}/v1/jobs`, body))).status).toBe(401);
    const accepted = await fetch(post(`${url}/v1/jobs`, body, signatureHeaders(secret, "POST", "/v1/jobs", body)));
    expect(accepted.status).toBe(202);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
});

test("web_fetch over HTTP: allowed in serve.tools, it still refuses metadata and loopback", async () => {
  using checkout = tempGitRepo("org-serve-web-fetch-");
  await using fixture = await serveFixture({
    script: { rules: [{ reply: { text: "ok" } }] },
    checkoutDir: checkout.dir,
    builtIns: [webFetchTool({ network: { ...DEFAULT_NETWORK, allowedHosts: ["*"] } })],
    serve: { tools: { web_fetch: "allow" } },
  });
  for (const [url, reason] of [
    ["http://169.254.169.254/latest/meta-data/", /link-local/],
    ["http://[::ffff:7f00:1]/", /loopback/],
    ["http://0x7f000001/", /loopback/],
  ] as const) {
    const response = await fixture.handler.fetch(post("http://127.0.0.1:7001/v1/tools/web_fetch/run", { inputs: { url } }));
    const body = (await response.json()) as { ok: boolean; output: string };
    expect(body.ok).toBe(false);
    expect(body.output).toMatch(reason);
  }
});
