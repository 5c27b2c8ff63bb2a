import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CronError, lastDueTime, nextCronTime, parseCron } from "./cron.ts";

const MINUTE = 60_000;
const at = (text: string) => new Date(text).getTime();

/**
 * A matcher written apart from `parseCron`, the plain way: each field's text read against the minute's value, a list
 * part at a time. The property holds `nextCronTime` to it, minute by minute.
 */
function bruteMatcher(expression: string): (date: Date) => boolean {
  const names: Record<string, number> = {};
  for (const [index, name] of ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].entries()) names[name] = index + 1;
  for (const [index, name] of ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].entries()) names[name] = index;
  const number = (word: string) => names[word] ?? Number(word);
  const fieldTest = (field: string, min: number, max: number) => {
    const parts = field.split(",").map((part) => {
      const [range = "", stepText] = part.split("/");
      const step = stepText === undefined ? 1 : Number(stepText);
      const bounds =
        range === "*" ? [min, max] : range.includes("-") ? range.split("-").map(number) : [number(range), stepText ? max : number(range)];
      return { low: bounds[0] ?? Number.NaN, high: bounds[1] ?? Number.NaN, step };
    });
    // Sunday is 0 and 7 in the day-of-week field.
    return (value: number) =>
      parts.some(({ low, high, step }) =>
        [value, value === 0 && max === 7 ? 7 : value].some((candidate) => candidate >= low && candidate <= high && (candidate - low) % step === 0),
      );
  };
  const [minute = "", hour = "", dom = "", month = "", dow = ""] = expression.split(" ");
  const [minuteOk, hourOk, dateOk, monthOk, weekdayOk] = [
    fieldTest(minute, 0, 59),
    fieldTest(hour, 0, 23),
    fieldTest(dom, 1, 31),
    fieldTest(month, 1, 12),
    fieldTest(dow, 0, 7),
  ];
  const either = !dom.startsWith("*") && !dow.startsWith("*");
  return (date) => {
    if (!minuteOk(date.getMinutes()) || !hourOk(date.getHours()) || !monthOk(date.getMonth() + 1)) return false;
    const byDate = dateOk(date.getDate());
    const byWeekday = weekdayOk(date.getDay());
    return either ? byDate || byWeekday : byDate && byWeekday;
  };
}

const part = (min: number, max: number, names: readonly string[] = []) =>
  fc.oneof(
    fc.constant("*"),
    fc.integer({ min, max }).map(String),
    fc.integer({ min: 2, max: 20 }).map((step) => `*/${step}`),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: 9 })).map(([a, step]) => `${a}/${step}`),
    ...(names.length > 0 ? [fc.constantFrom(...names)] : []),
  );
const field = (min: number, max: number, names: readonly string[] = []) =>
  fc.array(part(min, max, names), { minLength: 1, maxLength: 3 }).map((parts) => (parts.includes("*") ? "*" : parts.join(",")));
const expression = fc
  .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12, ["jan", "mar", "jun", "dec"]), field(0, 7, ["sun", "mon", "fri", "sat"]))
  .map((fields) => fields.join(" "));

describe("parseCron", () => {
  test("reads names, ranges, lists and steps", () => {
    const cron = parseCron("*/15 9-17 * jan,jul mon-fri");
    expect([...cron.minutes]).toEqual([0, 15, 30, 45]);
    expect([...cron.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...cron.months]).toEqual([1, 7]);
    expect([...cron.weekdays]).toEqual([1, 2, 3, 4, 5]);
    expect(cron.eitherDay).toBe(false);
    expect([...parseCron("0 0 * * 7").weekdays]).toEqual([0]);
    expect(parseCron("0 0 1 * sun").eitherDay).toBe(true);
  });

  test("refuses what it cannot read, naming the field", () => {
    for (const [text, said] of [
      ["* * * *", "4 fields"],
      ["60 * * * *", "minute 60 is out of range"],
      ["* * * foo *", "'foo' is not a month"],
      ["* 5-2 * * *", "runs backwards"],
      ["*/0 * * * *", "at least 1"],
    ] as const) {
      expect(() => parseCron(text)).toThrow(CronError);
      expect(() => parseCron(text)).toThrow(said);
    }
  });
});

describe("nextCronTime", () => {
  test("is the first minute after, the same as a minute-by-minute walk with a matcher of its own", () => {
    fc.assert(
      fc.property(expression, fc.integer({ min: at("2026-01-01T00:00:00"), max: at("2028-12-31T00:00:00") }), (text, start) => {
        const cron = parseCron(text);
        const matches = bruteMatcher(text);
        const found = nextCronTime(cron, start);
        // The walk: every minute after start, up to 20 days (or to what was found, when sooner).
        const first = Math.floor(start / MINUTE) * MINUTE + MINUTE;
        const horizon = first + 20 * 24 * 60 * MINUTE;
        let walked: number | undefined;
        for (let minute = first; minute <= Math.min(found ?? horizon, horizon); minute += MINUTE) {
          if (matches(new Date(minute))) {
            walked = minute;
            break;
          }
        }
        if (walked !== undefined) expect(found).toBe(walked);
        else expect(found === undefined || found > horizon).toBe(true);
        if (found !== undefined) expect(matches(new Date(found))).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  test("an expression that never runs gives undefined, quickly", () => {
    expect(nextCronTime(parseCron("0 0 30 feb *"), at("2026-01-01T00:00:00"))).toBeUndefined();
    expect(new Date(nextCronTime(parseCron("0 12 29 2 *"), at("2026-03-01T00:00:00")) ?? 0).getFullYear()).toBe(2028);
  });
});

describe("lastDueTime", () => {
  test("missed runs collapse into the newest one: three days down on an hourly schedule is one run", () => {
    const cron = parseCron("0 * * * *");
    const since = at("2026-05-01T10:30:00");
    expect(lastDueTime(cron, since, at("2026-05-04T13:59:00"))).toBe(at("2026-05-04T13:00:00"));
    expect(lastDueTime(cron, at("2026-05-04T13:00:00"), at("2026-05-04T13:59:00"))).toBeUndefined();
    expect(lastDueTime(parseCron("0 9 1 jan *"), at("2025-06-01T00:00:00"), at("2026-03-01T00:00:00"))).toBe(at("2026-01-01T09:00:00"));
  });
});
