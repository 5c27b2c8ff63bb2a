import type { PersonaConfig } from "../config/org-config.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { toolSet } from "../tools/define-tool.ts";
import { BUILD_TOOL, buildTool } from "./build-tool.ts";
import { Persona } from "./persona.ts";
import type { ReplyHost, ReplyOutcome } from "./reply-host.ts";
import type { ProgressStatus } from "./reply-report.ts";
import { respondWithTools } from "./respond-with-tools.ts";

export const TOOLSMITH_NOT_BUILT =
  "I can't write tools yet: my tool-writing pipeline (spec, code, tests, sandboxed validation, a candidate " +
  "branch and a fitness gate) is not built in this version of org. Nothing was written or installed. Until it " +
  "exists, @agent can often do the job with its shell, or I can describe what such a tool should take and return.";

/** The toolsmith's pipeline (goal → spec → code → tests → validation → candidate branch), given by the caller. */
export type ToolsmithJob = (request: {
  /** The tool to build, as the toolsmith's model put it in its build_tool call. */
  goal: string;
  /** The reply's host: its abort signal, tools, its model (holding the server's slot per call), `report` for text. */
  host: ReplyHost;
  /** Reports one step, shown live in the room. */
  progress(step: string, status: ProgressStatus, detail?: string): void;
}) => Promise<ReplyOutcome>;

/** Writes new tools through its pipeline; without one it says plainly that it cannot, instead of pretending. */
export class ToolsmithPersona extends Persona {
  readonly #job: ToolsmithJob | undefined;

  constructor(config: PersonaConfig, languageModel: LanguageModel, job?: ToolsmithJob) {
    super(config, languageModel);
    this.#job = job;
  }

  protected override role(): string {
    if (this.#job) {
      return (
        "the toolsmith of this room. When someone asks for a new tool, call build_tool with its goal: " +
        "your pipeline writes it (spec, code, tests), validates it in the sandbox and lands it on a candidate " +
        "branch; a fitness gate decides whether it is promoted. Otherwise answer briefly in text; never claim " +
        "a tool exists that the pipeline has not reported."
      );
    }
    return (
      "the toolsmith of this room. Writing new tools for the room will be your job, but the tool-writing " +
      "pipeline is not built yet in this version of org: you cannot create, test or install tools. When asked " +
      "for a tool, call build_tool (it says what can be done instead); otherwise answer briefly in text. " +
      "Never claim to have written, tested or installed anything."
    );
  }

  /**
   * Its model answers with the persona's tools plus build_tool: a call of build_tool runs the job (or gets the
   * honest fixed answer) and ends the reply with its outcome; a text answer is the reply.
   */
  override async respond(host: ReplyHost): Promise<ReplyOutcome> {
    let built: ReplyOutcome | undefined;
    let said = false;
    const build = buildTool(async (goal) => {
      // The job's text follows what the model said before its call, as its own paragraph.
      if (said) host.report({ type: "text-delta", text: "\n\n" });
      built = await this.#build(goal, host);
      return built.text;
    });
    const tools = toolSet([...[...host.tools.values()].filter((tool) => tool.name !== BUILD_TOOL), build]);
    const outcome = await respondWithTools(
      {
        ...host,
        // build_tool is the persona's own: it replaces a room tool of the same name and needs no approval.
        tools,
        approve: (call) => (call.name === BUILD_TOOL ? Promise.resolve(true) : host.approve(call)),
        report: (event) => {
          if (event.type === "text-delta" && event.text.trim() !== "") said = true;
          host.report(event);
        },
      },
      (window, definitions) => this.prompt(host, window, definitions),
    );
    if (!built) return outcome;
    // The pipeline's outcome names @agent or a branch as information, not as a request: nobody else is pulled in.
    return { ...outcome, text: [outcome.text, built.text].filter((text) => text !== "").join("\n\n"), addressed: [] };
  }

  /** Runs the job for `goal`, or says plainly that there is none. */
  async #build(goal: string, host: ReplyHost): Promise<ReplyOutcome> {
    if (this.#job) {
      return this.#job({
        goal,
        host,
        progress: (step, status, detail) => host.report({ type: "progress", step, status, ...(detail !== undefined ? { detail } : {}) }),
      });
    }
    host.report({ type: "text-delta", text: TOOLSMITH_NOT_BUILT });
    return { text: TOOLSMITH_NOT_BUILT, addressed: [] };
  }
}
