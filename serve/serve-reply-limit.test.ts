import { afterAll, describe, expect, test } from "bun:test";
import type { RoomEvent } from "../room/room-event.ts";
import { parseSse, post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

const checkout = tempGitRepo("org-serve-limit-");
afterAll(() => checkout[Symbol.dispose]());
const BASE = "http://org.test";

const HUGE = { rules: [{ reply: { text: "x".repeat(1_000_000), chunkSize: 65_536 } }] };
const message = (events: RoomEvent[]) =>
  events.find((event): event is Extract<RoomEvent, { type: "message" }> => event.type === "message" && event.message.from === "agent")?.message;

describe("serve: a reply's size is bounded", () => {
  test("a 1 MB reply is cut at limits.replyChars (default 200 000) and the SSE stream says so", async () => {
    await using fixture = await serveFixture({ script: HUGE, checkoutDir: checkout.dir });
    expect(fixture.config.limits.replyChars).toBe(200_000);
    const response = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: "talk", mode: "direct:agent" }));
    expect(response.status).toBe(200);
    const events = parseSse(await response.text());
    expect(message(events)?.text.length).toBe(200_000);
    const notice = events.find((event) => event.type === "notice" && event.reason === "reply-chars");
    expect(notice).toMatchObject({ type: "notice", persona: "agent" });
    expect(notice && "message" in notice ? notice.message : "").toContain("limits.replyChars");
    const streamed = events.reduce((sum, event) => sum + (event.type === "text-delta" ? event.text.length : 0), 0);
    expect(streamed).toBe(200_000);
  });

  test("idle sessions are closed once their histories pass maxOpenChars, not only by count", async () => {
    await using fixture = await serveFixture({
      script: { rules: [{ reply: { text: "y".repeat(3000) } }] },
      checkoutDir: checkout.dir,
      maxOpenChars: 5000,
    });
    for (let index = 0; index < 3; index += 1) {
      const response = await fixture.handler.fetch(post(`${BASE}/v1/messages`, { text: `hello ${index}`, mode: "direct:agent" }));
      expect(parseSse(await response.text()).at(-1)).toMatchObject({ type: "turn-end" });
    }
    // Each session holds about 3000 characters: three would be 9000, so the oldest went; the count bound (256) never applied.
    expect(fixture.handler.sessions.size).toBe(1);
    expect(fixture.handler.sessions.openChars).toBeLessThanOrEqual(5000);
  });
});
