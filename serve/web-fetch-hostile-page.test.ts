import { afterAll, beforeAll, expect, test } from "bun:test";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { DEFAULT_NETWORK } from "../config/network-settings.ts";
import { hostileHtmlCorpus } from "../testing/hostile-html.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { webFetchTool } from "../tools/web-fetch.ts";

const BASE = "http://127.0.0.1:7001";
// 4 MiB of hostile HTML: deep nesting, then a `<p` flood without any `>` (the page that took minutes).
const corpus = new Map(hostileHtmlCorpus(2 * 1024 * 1024));
const page = `${corpus.get("deep nesting")}<p>readable words</p>${corpus.get("unclosed <p")}`;

let server: Server;
let port = 0;
let sent: Promise<void>;
let markSent = () => {};

beforeAll(async () => {
  sent = new Promise((resolve) => {
    markSent = resolve;
  });
  server = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => {
      const body = Buffer.from(page);
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body);
      socket.end();
    });
    // web_fetch closes its socket once it has read the whole body: from then on it is converting.
    socket.once("close", () => markSent());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

test("serve answers /health while web_fetch converts a hostile page, and the fetch still returns its text", async () => {
  using checkout = tempGitRepo("org-serve-hostile-page-");
  await using fixture = await serveFixture({
    script: { rules: [{ reply: { text: "ok" } }] },
    checkoutDir: checkout.dir,
    builtIns: [
      webFetchTool({
        network: { ...DEFAULT_NETWORK, allowedHosts: ["*"], maxBytes: 16 * 1024 * 1024, timeoutS: 120 },
        resolver: async () => ["127.0.0.1"],
        ports: [port],
        treatAsPublic: new Set(["127.0.0.1"]),
      }),
    ],
    serve: { tools: { web_fetch: "allow" } },
  });
  let done = false;
  const fetched = fixture.handler
    .fetch(post(`${BASE}/v1/tools/web_fetch/run`, { inputs: { url: `http://page.test:${port}/` } }))
    .then(async (response) => {
      done = true;
      return (await response.json()) as { ok: boolean; output: string };
    });
  await Promise.race([sent, fetched]);
  // From here on the page is being converted; /health is asked for until the fetch is done.
  let answeredDuring = 0;
  while (!done) {
    const health = await fixture.handler.fetch(new Request(`${BASE}/health`));
    expect(health.status).toBe(200);
    if (!done) answeredDuring++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const result = await fetched;
  expect(result.ok).toBe(true);
  expect(result.output).toContain("readable words");
  // Answered while the conversion ran: a conversion that held the event loop would leave none.
  expect(answeredDuring).toBeGreaterThan(0);
}, 120_000);
