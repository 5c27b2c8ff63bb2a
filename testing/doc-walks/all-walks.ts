import type { Walk } from "../doc-walk.ts";
import { gateWalk } from "./gate-walk.ts";
import { growWalk } from "./grow-walk.ts";
import { mcpServersWalk } from "./mcp-servers-walk.ts";
import { memoryWalk } from "./memory-walk.ts";
import { patchWalk } from "./patch-walk.ts";
import { superviseWalk } from "./supervise-walk.ts";
import { toolsWalk } from "./tools-walk.ts";
import { tourWalk } from "./tour-walk.ts";
import { webWalk } from "./web-walk.ts";
import { workflowsWalk } from "./workflows-walk.ts";
import { workspaceWalk } from "./workspace-walk.ts";

/** Every walk of the docs: docs/doc-commands.test.ts holds each command of the pages to one of their steps. */
export const ALL_WALKS: readonly Walk[] = [
  tourWalk,
  workflowsWalk,
  toolsWalk,
  memoryWalk,
  patchWalk,
  workspaceWalk,
  superviseWalk,
  growWalk,
  gateWalk,
  mcpServersWalk,
  webWalk,
];
