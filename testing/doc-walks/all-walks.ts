import type { Walk } from "../doc-walk.ts";
import { tourWalk } from "./tour-walk.ts";
import { workflowsWalk } from "./workflows-walk.ts";

/** Every walk of the docs: docs/doc-commands.test.ts holds each command of the pages to one of their steps. */
export const ALL_WALKS: readonly Walk[] = [tourWalk, workflowsWalk];
