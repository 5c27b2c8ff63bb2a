// docs/mcp-servers.md walked against the playground (testing/doc-walks/mcp-servers-walk.ts).
import { test } from "bun:test";
import { runWalk } from "../testing/doc-walk.ts";
import { mcpServersWalk } from "../testing/doc-walks/mcp-servers-walk.ts";

test("docs/mcp-servers.md: confirmations kept and broken, a literal token refused, the servers confirmed, in the room and listed", async () => {
  await runWalk(mcpServersWalk);
}, 600_000);
