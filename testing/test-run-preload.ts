// Preloaded into each `bun test` process by package.json's test scripts (`--preload`): the run's processes end with it.
import { startLifeline } from "./test-run-reaper.ts";

startLifeline();
