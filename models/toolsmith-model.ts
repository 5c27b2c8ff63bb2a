import type { PersonaConfig } from "../config/org-config.ts";
import { Model } from "./model.ts";
import type { ReplyHost, ReplyOutcome } from "./reply-host.ts";
import type { ProgressStatus } from "./reply-report.ts";

export const TOOLSMITH_NOT_BUILT =
  "I can't write tools yet: my tool-writing pipeline (spec, code, tests, sandboxed validation, a candidate branch and a fitness gate) is not built in this version of org. Nothing was written or installed. Until it exists, @agent can often do the job with its shell, or I can describe what such a tool should take and return.";

const ASKS_FOR_A_TOOL = /\b(write|make|build|create|generate|add|implement|develop)\b[^.?!\n]*\btools?\b/i;

/** The toolsmith's pipeline (goal → spec → code → tests → validation → candidate branch), given by the caller. */
export type ToolsmithJob = (request: {
  /** What the user asked for, as they said it. */
  goal: string;
  /** The toolsmith persona's model server and model, for the pipeline's own calls (credentials in `host.authorization`). */
  endpoint: { baseUrl: string; modelId: string };
  /** The reply's host: its abort signal, tools, server slot, `report` for text. */
  host: ReplyHost;
  /** Reports one step, shown live in the room. */
  progress(step: string, status: ProgressStatus, detail?: string): void;
}) => Promise<ReplyOutcome>;

/** Writes new tools through its pipeline; without one it says plainly that it cannot, instead of pretending. */
export class ToolsmithModel extends Model {
  readonly #job: ToolsmithJob | undefined;

  constructor(config: PersonaConfig, job?: ToolsmithJob) {
    super(config);
    this.#job = job;
  }

  protected role(): string {
    if (this.#job) {
      return "the toolsmith of this room. When someone asks for a new tool, your pipeline writes it (spec, code, tests), validates it in the sandbox and lands it on a candidate branch; a fitness gate decides whether it is promoted. Otherwise answer briefly; never claim a tool exists that the pipeline has not reported.";
    }
    return "the toolsmith of this room. Writing new tools for the room will be your job, but the tool-writing pipeline is not built yet in this version of org: you cannot create, test or install tools. When asked for a tool, say plainly that you cannot build it yet and describe what the tool should take and return. Never claim to have written, tested or installed anything.";
  }

  /** Whether a message asks for a new tool (the job's trigger). */
  static asksForATool(text: string): boolean {
    return ASKS_FOR_A_TOOL.test(text);
  }

  /** A request for a tool runs the job (or gets the honest fixed answer); other talk goes to its model. */
  override async respond(host: ReplyHost): Promise<ReplyOutcome> {
    if (!ToolsmithModel.asksForATool(host.trigger.text)) return super.respond(host);
    if (this.#job) {
      return this.#job({
        goal: host.trigger.text,
        endpoint: { baseUrl: this.baseUrl, modelId: this.modelId },
        host,
        progress: (step, status, detail) => host.report({ type: "progress", step, status, ...(detail !== undefined ? { detail } : {}) }),
      });
    }
    host.report({ type: "text-delta", text: TOOLSMITH_NOT_BUILT });
    // The fixed answer names @agent as a hint for the user, not as a request: nobody else is pulled in.
    return { text: TOOLSMITH_NOT_BUILT, addressed: [] };
  }
}
