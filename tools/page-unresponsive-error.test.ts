import { expect, test } from "bun:test";
import { answeredWithin, PageUnresponsiveError, unlessUnresponsive } from "./page-unresponsive-error.ts";

test("a read that never settles ends at org's own timer as a page that stopped answering; one that settles passes", async () => {
  const never = new Promise<string>(() => undefined);
  const late = await answeredWithin(never, 20).catch((error: unknown) => error);
  expect(late).toBeInstanceOf(PageUnresponsiveError);
  expect((late as PageUnresponsiveError).message).toBe("the page stopped answering within 0 s");
  expect(await answeredWithin(Promise.resolve("title"), 60_000)).toBe("title");
  // A read that failed otherwise keeps its fallback; a page that stopped answering is never taken for one.
  expect(await answeredWithin(Promise.reject(new Error("navigated away")), 60_000).catch(unlessUnresponsive("fallback"))).toBe("fallback");
  expect(
    await answeredWithin(never, 20)
      .catch(unlessUnresponsive("fallback"))
      .catch((error: unknown) => error),
  ).toBeInstanceOf(PageUnresponsiveError);
});
