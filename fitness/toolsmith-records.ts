import type { ToolsmithRecords } from "../toolsmith/run-toolsmith.ts";
import { liveCandidateToolNames } from "./candidate-states.ts";
import { recordValidation } from "./validation-record.ts";

/** The gate's records as the toolsmith reads and writes them: whoever starts a build hands the toolsmith this. */
export const toolsmithRecords: ToolsmithRecords = { liveNames: liveCandidateToolNames, recordValidation };
