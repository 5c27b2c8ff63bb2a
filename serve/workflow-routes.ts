import type { OrgConfig } from "../config/org-config.ts";
import { type McpToolEntry, workflowEntries } from "../mcp-server/mcp-tool-catalog.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { type AuditSink, HTTP_SESSION } from "../security/audit-log.ts";
import { redact, redactValue } from "../security/redact.ts";
import { failureLine } from "../tools/failure-line.ts";
import { ToolRunRequest } from "./api-schemas.ts";
import { HttpError } from "./http-error.ts";
import { httpToolPolicy, httpToolRefusal } from "./http-tool-policy.ts";
import { readJsonBody } from "./read-json-body.ts";
import type { ServeMetrics } from "./serve-metrics.ts";
import { type Route, route } from "./router.ts";
import type { SessionPool } from "./session-pool.ts";

/** What the workflow routes serve, and the sandbox and policy each workflow's steps run under. */
export type WorkflowRoutesOptions = SandboxAccess & {
  config: OrgConfig;
  workspaceDir: string;
  /** The checkout whose promoted tools and workflows are served after the workspace's. */
  checkoutDir: string;
  metrics: ServeMetrics;
  sessions: SessionPool;
  /** Where each run is recorded (the audit log, as a tool run over HTTP is), so a failing one is seen by the supervisor. */
  audit?: AuditSink;
};

/**
 * `GET /v1/workflows` and `POST /v1/workflows/:name/run`: the workflows of the workspace's `workflows/`, then of the
 * checkout's (a promoted one among them), each read and checked again at every call, under the HTTP tool policy
 * (`serve.tools.<name>`, else `serve.generatedTools`). The fitness gate runs a candidate's workflows' examples here.
 */
export function workflowRoutes(options: WorkflowRoutesOptions): Route[] {
  const { config } = options;
  const entries = (): McpToolEntry[] =>
    workflowEntries(options.workspaceDir, [options.checkoutDir], { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy });

  function list(): Response {
    return Response.json({
      workflows: entries().map((entry) => ({
        name: entry.name,
        description: entry.description,
        inputs: entry.inputSchema,
        http: httpToolPolicy(config.serve, entry.name, "workflow"),
      })),
    });
  }

  async function run(request: Request, name: string, requestId: string): Promise<Response> {
    const body = await readJsonBody(request, ToolRunRequest, config.serve.maxBodyBytes);
    const entry = entries().find((candidate) => candidate.name === name);
    if (!entry) throw new HttpError(404, `there is no workflow "${name}"; GET /v1/workflows lists them.`);
    const refused = httpToolRefusal(config.serve, name, "workflow", "none");
    if (refused) throw new HttpError(403, refused);
    const lease = await options.sessions.toolSlot(request.signal);
    const started = performance.now();
    try {
      const result = await entry.run(body.inputs, request.signal);
      const seconds = (performance.now() - started) / 1000;
      options.metrics.recordToolRun(name, result.ok, seconds);
      options.audit?.record({
        time: new Date().toISOString(),
        sessionId: HTTP_SESSION,
        persona: HTTP_SESSION,
        requestId: body.request_id ?? requestId,
        tool: name,
        arguments: redactValue(body.inputs ?? null, config.secrets),
        ok: result.ok,
        ...(result.ok ? {} : { error: failureLine(redact(result.error, config.secrets)) }),
        durationMs: Math.round(seconds * 1000),
        bytes: result.ok ? Buffer.byteLength(JSON.stringify(result.output) ?? "") : Buffer.byteLength(result.error),
      });
      return Response.json(
        result.ok
          ? { workflow: name, ok: true, output: result.output, durationMs: Math.round(seconds * 1000) }
          : { workflow: name, ok: false, error: result.error, durationMs: Math.round(seconds * 1000) },
      );
    } finally {
      lease();
    }
  }

  return [
    route("GET", "/v1/workflows", () => list()),
    route("POST", "/v1/workflows/:name/run", ({ request, params, requestId }) => run(request, params.name, requestId)),
  ];
}
