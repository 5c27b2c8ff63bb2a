import type { SupervisorState } from "./supervisor-state.ts";

/** A silenced pattern: a check's name, an incident's id or key, or a novel error's signature id; `until` undefined is for ever. */
export type Mute = { pattern: string; until?: number; createdAt: number };

/** Silences `pattern` until `until` (ms since the epoch), or for ever. */
export function mutePattern(state: SupervisorState, pattern: string, until: number | undefined, now: number): void {
  state.db
    .query("INSERT INTO mutes (pattern, until, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (pattern) DO UPDATE SET until = ?2, created_at = ?3")
    .run(pattern, until ?? null, now);
}

/** Lifts a mute; false when there was none. */
export function unmutePattern(state: SupervisorState, pattern: string): boolean {
  return state.db.query("DELETE FROM mutes WHERE pattern = ?").run(pattern).changes > 0;
}

/** The mutes in force at `now` (expired ones are dropped). */
export function activeMutes(state: SupervisorState, now: number): Mute[] {
  state.db.query("DELETE FROM mutes WHERE until IS NOT NULL AND until <= ?").run(now);
  return state.db
    .query<{ pattern: string; until: number | null; createdAt: number }, []>("SELECT pattern, until, created_at AS createdAt FROM mutes ORDER BY pattern")
    .all()
    .map((row) => ({ pattern: row.pattern, createdAt: row.createdAt, ...(row.until !== null ? { until: row.until } : {}) }));
}

/** Whether an incident is silenced: by its id, its pattern (check name or `novel`), its key, or `pattern:key`. */
export function isMuted(state: SupervisorState, incident: { id: string; pattern: string; key: string }, now: number): boolean {
  const names = new Set([incident.id, incident.pattern, incident.key, `${incident.pattern}:${incident.key}`]);
  return activeMutes(state, now).some((mute) => names.has(mute.pattern));
}
