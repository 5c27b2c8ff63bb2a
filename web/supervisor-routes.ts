import { backupDirOf, listBackups } from "../backup/backup-retention.ts";
import { instanceSettings } from "../config/environment.ts";
import { readJsonBody } from "../serve/read-json-body.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import { applyFixNow } from "../supervise/apply-fix-now.ts";
import { diagnosisModel } from "../supervise/diagnose-incident.ts";
import { chooseMute } from "../supervise/mute-patterns.ts";
import { mutePattern } from "../supervise/mutes.ts";
import { superviseStatus } from "../supervise/supervise-status.ts";
import { SupervisorState } from "../supervise/supervisor-state.ts";
import { type SupervisorView, webApiSchemas } from "./web-api.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";

/** Backups the view lists: the newest. */
const BACKUPS_SHOWN = 10;

/** `org supervise status` for the server's workspace and checkout, with the newest backups. */
export function supervisorView(context: Pick<WebContext, "workspaceDir" | "checkoutDir" | "config">, now = Date.now()): SupervisorView {
  const state = SupervisorState.open(context.workspaceDir);
  try {
    const status = superviseStatus({ workspaceDir: context.workspaceDir, repoDir: context.checkoutDir, config: context.config }, state, now);
    const backups = listBackups(backupDirOf(context.workspaceDir, context.config.backup))
      .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())
      .slice(0, BACKUPS_SHOWN)
      .map((backup) => ({ name: backup.name, takenAt: backup.takenAt.toISOString(), bytes: backup.bytes }));
    return {
      supervisor: status.supervisor,
      lastRound: status.lastRound,
      checks: status.checks.map(({ name, state: checkState, detail, since }) => ({ name, state: checkState, detail, since })),
      incidents: status.incidents.map((incident) => ({
        id: incident.id,
        pattern: incident.pattern,
        title: incident.title,
        detail: incident.detail,
        openedAt: incident.openedAt,
        seen: incident.seen,
        muted: incident.muted,
        fix: incident.fix
          ? { id: incident.fix.id, action: incident.fix.action, target: incident.fix.target, state: incident.fix.state, detail: incident.fix.detail }
          : null,
      })),
      fixes: status.fixes.map(({ id, incident, action, state: fixState, detail, steps }) => ({
        id,
        incident,
        action,
        state: fixState,
        detail,
        steps,
      })),
      mutes: status.mutes,
      backups,
    };
  } finally {
    state.close();
  }
}

/** `GET /v1/supervisor`, `POST /v1/supervisor/fixes/:id/apply` and `POST /v1/supervisor/mutes`: what `org supervise` does. */
export function supervisorRoutes(context: WebContext): Route[] {
  return [
    route("GET", "/v1/supervisor", () => Response.json(webApiSchemas().SupervisorView.parse(supervisorView(context)))),
    route("POST", "/v1/supervisor/fixes/:id/apply", async ({ params, request }) => {
      const settings = instanceSettings();
      const { fix, incident } = await refusalsAs409(() =>
        applyFixNow(
          {
            workspaceDir: context.workspaceDir,
            repoDir: context.checkoutDir,
            sandbox: context.sandbox,
            loadConfig: () => context.config,
            instance: { port: settings.currentPort, tmuxSession: settings.tmuxSession, startTimeoutMs: settings.startTimeoutS * 1000 },
            say: context.logError,
            diagnosisModel,
            signal: request.signal,
          },
          params.id,
          "org web apply",
        ),
      );
      const over = incident.state === "resolved" ? ` (incident ${incident.id} is over)` : "";
      return Response.json(
        webApiSchemas().ActionAnswer.parse({
          ok: fix.state !== "failed",
          said: `${fix.id} ${fix.action} ${fix.target}: ${fix.state} — ${fix.detail}${over}`,
        }),
      );
    }),
    route("POST", "/v1/supervisor/mutes", async ({ request }) => {
      const body = await readJsonBody(request, webApiSchemas().MuteRequest, context.config.serve.maxBodyBytes);
      const state = SupervisorState.open(context.workspaceDir);
      try {
        const choice = chooseMute(state, body.pattern);
        if ("problem" in choice) throw new HttpError(400, choice.problem);
        const now = Date.now();
        const until = body.forMs === undefined ? undefined : now + body.forMs;
        mutePattern(state, choice.pattern, until, now);
        return Response.json(
          webApiSchemas().ActionAnswer.parse({
            ok: true,
            said: `muted ${body.pattern}${until ? ` until ${new Date(until).toISOString()}` : " for ever"}`,
          }),
        );
      } finally {
        state.close();
      }
    }),
  ];
}
