import type { IncidentRow, SupervisorState } from "./supervisor-state.ts";

/** How a mute of a fragment of an error's text is kept in the mutes table: this prefix, then the fragment. */
const TEXT_PREFIX = "text:";

/**
 * A silenced pattern: a check's name, an incident's id or key, or a novel error's signature id; or `text`, a fragment of
 * what a person saw (an incident whose title, detail or excerpt, or a message said of it, holds it is silenced). `until`
 * undefined is for ever.
 */
export type Mute = { pattern: string; text?: string; until?: number; createdAt: number };

/** A fragment of text as it is compared: lowercase, each run of white space one space. */
export function foldedText(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

/** A fragment as a person copied it from a message: without the `[org supervise]` every message begins with. */
export function fragmentOf(text: string): string {
  return foldedText(text).replace(/^\[org supervise\]\s*/, "");
}

/** The mutes table's pattern of a mute of a text fragment. */
export function textMutePattern(fragment: string): string {
  return `${TEXT_PREFIX}${fragmentOf(fragment)}`;
}

/** Silences `pattern` until `until` (ms since the epoch), or for ever. */
export function mutePattern(state: SupervisorState, pattern: string, until: number | undefined, now: number): void {
  state.db
    .query("INSERT INTO mutes (pattern, until, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (pattern) DO UPDATE SET until = ?2, created_at = ?3")
    .run(pattern, until ?? null, now);
  state.told();
}

/** Lifts a mute (of `pattern` as given, else of it as a text fragment); false when there was none. */
export function unmutePattern(state: SupervisorState, pattern: string): boolean {
  const lifted =
    state.db.query("DELETE FROM mutes WHERE pattern = ?").run(pattern).changes > 0 ||
    state.db.query("DELETE FROM mutes WHERE pattern = ?").run(textMutePattern(pattern)).changes > 0;
  if (lifted) state.told();
  return lifted;
}

/** The mutes in force at `now` (expired ones are dropped). */
export function activeMutes(state: SupervisorState, now: number): Mute[] {
  state.db.query("DELETE FROM mutes WHERE until IS NOT NULL AND until <= ?").run(now);
  return state.db
    .query<{ pattern: string; until: number | null; createdAt: number }, []>(
      "SELECT pattern, until, created_at AS createdAt FROM mutes ORDER BY pattern",
    )
    .all()
    .map((row) => ({
      pattern: row.pattern,
      createdAt: row.createdAt,
      ...(row.pattern.startsWith(TEXT_PREFIX) ? { text: row.pattern.slice(TEXT_PREFIX.length) } : {}),
      ...(row.until !== null ? { until: row.until } : {}),
    }));
}

/** What of an incident a mute looks at. */
export type MutedThing = Pick<IncidentRow, "id" | "pattern" | "key"> & Partial<Pick<IncidentRow, "title" | "detail" | "excerpt">>;

/**
 * Whether a text mute's fragment is in what a person sees of an incident: its title, detail or excerpt, or its title and
 * detail as a message says them one after the other (`TITLE: DETAIL`), so a fragment copied across the two holds too.
 */
export function holdsText(incident: MutedThing, fragment: string): boolean {
  const said = incident.title != null && incident.detail != null ? `${incident.title}: ${incident.detail}` : undefined;
  return (
    fragment !== "" && [incident.title, incident.detail, incident.excerpt, said].some((text) => text != null && foldedText(text).includes(fragment))
  );
}

/** How many of the latest messages said (the `notice` events) are read for an incident's words. */
const SAID_MESSAGES = 5000;

/** The messages said of incidents (the latest `SAID_MESSAGES`), folded as fragments are: each names its incident by id. */
export function saidMessages(state: SupervisorState, incidentId?: string): string[] {
  return state.db
    .query<{ text: string }, [string, number]>("SELECT text FROM events WHERE kind = 'notice' AND instr(text, ?1) > 0 ORDER BY at DESC LIMIT ?2")
    .all(incidentId ?? "", SAID_MESSAGES)
    .map((event) => foldedText(event.text));
}

/**
 * Whether an incident is silenced: by its id, its pattern (check name or `novel`), its key, `pattern:key`, or a fragment
 * of its text or of a message said of it (an opening's words stay the incident's when its detail changes or it ends).
 */
export function isMuted(state: SupervisorState, incident: MutedThing, now: number): boolean {
  const names = new Set([incident.id, incident.pattern, incident.key, `${incident.pattern}:${incident.key}`]);
  let said: string[] | undefined;
  const saidHolds = (fragment: string) => {
    said ??= saidMessages(state, incident.id);
    return said.some((text) => text.includes(fragment));
  };
  const holds = (mute: Mute) => (mute.text !== undefined ? holdsText(incident, mute.text) || saidHolds(mute.text) : names.has(mute.pattern));
  return activeMutes(state, now).some(holds);
}
