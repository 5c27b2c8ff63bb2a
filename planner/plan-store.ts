import { join } from "node:path";
import { z } from "zod";
import { PLANS_DIR } from "../config/workspace-paths.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { ensureOrgDir, ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { workflowSchemas } from "../workflows/workflow-file.ts";
import { randomHex } from "../concurrency/random-hex.ts";
import { OrgError } from "../errors/org-error.ts";

/** A plan's id: the UTC time it was made and a few random letters (`20261126T101500Z-k3x9`). */
export const PLAN_ID_PATTERN = /^\d{8}T\d{6}Z-[a-z0-9]{4}$/;

/** `.org/plans/<id>.json`: a checked plan, what it was planned from, and the candidate branches whose tools it uses. */
export const PlanRecord = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(PLAN_ID_PATTERN),
  goal: z.string().max(2_000),
  inputs: z.record(z.string(), z.unknown()).optional(),
  workflow: workflowSchemas().Workflow,
  rounds: z.int().min(1),
  refs: z.array(z.string()).max(20),
  repoDir: z.string(),
  createdAt: z.iso.datetime(),
});
export type PlanRecord = z.infer<typeof PlanRecord>;

/** No plan of this id in this workspace; the message says how to list or make one. */
export class PlanNotFoundError extends OrgError {
  override name = "PlanNotFoundError";
}

const newPlanId = (now: Date) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomHex(2)}`;

/** Keeps a checked plan in the workspace's private state; returns its id. */
export function savePlanRecord(workspaceDir: string, record: Omit<PlanRecord, "version" | "id" | "createdAt">, now = new Date()): PlanRecord {
  ensureOrgDir(workspaceDir);
  const folder = ensurePrivateDir(join(workspaceDir, PLANS_DIR));
  const full: PlanRecord = { version: 1, id: newPlanId(now), createdAt: now.toISOString(), ...record };
  writePrivateFile(join(folder, `${full.id}.json`), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/** The plan `id` of this workspace, read and checked. */
export function readPlanRecord(workspaceDir: string, id: string): PlanRecord {
  if (!PLAN_ID_PATTERN.test(id))
    throw new PlanNotFoundError(
      `"${id}" is not a plan id (they look like 20261126T101500Z-k3x9); org workflow plan prints the id of each plan it makes`,
    );
  let text: string;
  try {
    text = readPrivateFile(join(workspaceDir, PLANS_DIR, `${id}.json`));
  } catch (error) {
    if (errorCode(error) === "ENOENT")
      throw new PlanNotFoundError(`no plan ${id} in ${join(workspaceDir, PLANS_DIR)}; make one with org workflow plan --goal "…"`);
    throw error;
  }
  const damaged = (why: string) => new PlanNotFoundError(`the plan ${id} is damaged (${why}); make it again with org workflow plan`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged("not JSON");
  }
  const parsed = PlanRecord.safeParse(value);
  if (!parsed.success) throw damaged(parsed.error.issues[0]?.message ?? "not a plan");
  return parsed.data;
}
