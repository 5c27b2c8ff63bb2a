import { OrgError } from "../errors/org-error.ts";

/** A five-field cron expression, each field the set of values it allows; read with `parseCron`. */
export type Cron = {
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 (Sunday) to 6; a 7 written is read as 0. */
  readonly weekdays: ReadonlySet<number>;
  /** Whether day of month and day of week were both restricted: then classic cron runs when either matches. */
  readonly eitherDay: boolean;
};

/** A cron expression that cannot be read; the message names the field and what is allowed. */
export class CronError extends OrgError {
  override name = "CronError";
}

type Field = { name: string; min: number; max: number; names?: readonly string[] };

const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] as const;
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const MINUTE: Field = { name: "minute", min: 0, max: 59 };
const HOUR: Field = { name: "hour", min: 0, max: 23 };
const DAY: Field = { name: "day of month", min: 1, max: 31 };
const MONTH: Field = { name: "month", min: 1, max: 12, names: MONTH_NAMES };
const WEEKDAY: Field = { name: "day of week", min: 0, max: 7, names: DAY_NAMES };
const SHAPE = "five fields: minute hour day-of-month month day-of-week, e.g. '*/15 9-17 * * mon-fri'";

function fieldValue(word: string, field: Field, text: string): number {
  const named = field.names?.findIndex((name) => name === word.toLowerCase()) ?? -1;
  // Month names count from 1 (jan), day names from 0 (sun).
  if (named >= 0) return field.names === MONTH_NAMES ? named + 1 : named;
  if (!/^\d{1,2}$/.test(word)) throw new CronError(`cron '${text}': '${word}' is not a ${field.name} (${describe(field)}).`);
  const value = Number(word);
  if (value < field.min || value > field.max) throw new CronError(`cron '${text}': ${field.name} ${value} is out of range (${describe(field)}).`);
  return value;
}

function describe(field: Field): string {
  const names = field.names ? `, or ${field.names[0]}–${field.names.at(-1)}` : "";
  return `${field.min}–${field.max}${names}`;
}

/** One field's values: `*`, `N`, `A-B`, each with an optional `/STEP`, joined by commas. */
function parseField(source: string, field: Field, text: string): Set<number> {
  const values = new Set<number>();
  for (const part of source.split(",")) {
    const match = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(part);
    if (!match?.[1]) throw new CronError(`cron '${text}': '${part}' in the ${field.name} field is not a value, a range or a step.`);
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (step < 1) throw new CronError(`cron '${text}': a step must be at least 1 ('${part}').`);
    const range = match[1];
    let low: number;
    let high: number;
    if (range === "*") {
      low = field.min;
      high = field === WEEKDAY ? 6 : field.max;
    } else {
      const [first, last, ...rest] = range.split("-");
      if (first === undefined || rest.length > 0) throw new CronError(`cron '${text}': '${part}' is not a range.`);
      low = fieldValue(first, field, text);
      // `N/STEP` runs from N to the field's end, as Vixie cron reads it.
      high = last !== undefined ? fieldValue(last, field, text) : match[2] !== undefined ? field.max : low;
      if (high < low) throw new CronError(`cron '${text}': the range '${part}' runs backwards.`);
    }
    for (let value = low; value <= high; value += step) values.add(field === WEEKDAY && value === 7 ? 0 : value);
  }
  return values;
}

/** Reads a cron expression: five fields, with `*`, lists, ranges, steps and month and day names (jan–dec, sun–sat). */
export function parseCron(text: string): Cron {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === "")
    throw new CronError(`cron '${text}' has ${parts[0] === "" ? 0 : parts.length} fields; it needs ${SHAPE}.`);
  const [minute = "", hour = "", day = "", month = "", weekday = ""] = parts;
  const minutes = parseField(minute, MINUTE, text);
  const hours = parseField(hour, HOUR, text);
  const days = parseField(day, DAY, text);
  const months = parseField(month, MONTH, text);
  const weekdays = parseField(weekday, WEEKDAY, text);
  return { text: text.trim(), minutes, hours, days, months, weekdays, eitherDay: !day.startsWith("*") && !weekday.startsWith("*") };
}

/** Whether the day (local time) is one the expression runs on. */
function dayMatches(cron: Cron, date: Date): boolean {
  if (!cron.months.has(date.getMonth() + 1)) return false;
  const byDate = cron.days.has(date.getDate());
  const byWeekday = cron.weekdays.has(date.getDay());
  return cron.eitherDay ? byDate || byWeekday : byDate && byWeekday;
}

/** Years searched for a next run before an expression is called one that never runs (`0 0 30 2 *`). */
const SEARCH_YEARS = 9;

/**
 * The first minute strictly after `afterMs` the expression runs in (ms, local time), or undefined when it never
 * runs; skips whole days and hours that cannot match, so it is quick whatever the gap.
 */
export function nextCronTime(cron: Cron, afterMs: number): number | undefined {
  const date = new Date(afterMs);
  date.setSeconds(0, 0);
  date.setMinutes(date.getMinutes() + 1);
  const end = afterMs + SEARCH_YEARS * 366 * 86_400_000;
  while (date.getTime() <= end) {
    if (!dayMatches(cron, date)) {
      date.setDate(date.getDate() + 1);
      date.setHours(0, 0, 0, 0);
    } else if (!cron.hours.has(date.getHours())) {
      date.setHours(date.getHours() + 1, 0, 0, 0);
    } else if (!cron.minutes.has(date.getMinutes())) {
      date.setMinutes(date.getMinutes() + 1, 0, 0);
    } else return date.getTime();
  }
  return undefined;
}

/**
 * The newest minute in (`sinceMs`, `nowMs`] the expression runs in, or undefined for none: what is due now. Runs
 * missed while nothing ran collapse into this one, so a run after downtime happens once, not once per missed slot.
 */
export function lastDueTime(cron: Cron, sinceMs: number, nowMs: number): number | undefined {
  const newestFrom = (fromMs: number) => {
    let due: number | undefined;
    for (let next = nextCronTime(cron, fromMs); next !== undefined && next <= nowMs; next = nextCronTime(cron, next)) due = next;
    return due;
  };
  // A long downtime on a frequent schedule: its newest run lies in the last day, so the walk starts there.
  const dayAgo = nowMs - 86_400_000;
  return (dayAgo > sinceMs ? newestFrom(dayAgo) : undefined) ?? newestFrom(sinceMs);
}
