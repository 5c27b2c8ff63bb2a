// The README's `org web` and docs/web-room.md walked against the playground (testing/doc-walks/web-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { webWalk } from "../testing/doc-walks/web-walk.ts";

test("org web and org web --supervise print the URL whose token logs a browser in to the room", async () => {
  await runWalk(webWalk);
}, 300_000);
