// The README's tour and docs/models.md's playground, walked as a newcomer types them (testing/doc-walks/tour-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { tourWalk } from "../testing/doc-walks/tour-walk.ts";

test("the README's tour and the playground of docs/models.md, every command as the pages have it, on a project of one's own", async () => {
  await runWalk(tourWalk);
}, 900_000);
