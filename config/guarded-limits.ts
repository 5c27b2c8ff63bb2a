import { GrowSettings } from "./grow-settings.ts";
import { type Guarded, guarded } from "./guarded-setting.ts";
import { DEFAULT_NETWORK } from "./network-settings.ts";
import type { OrgConfigFile } from "./org-config-file.ts";
import { ToolsmithSettings } from "./toolsmith-settings.ts";
import { WebSettings } from "./web-settings.ts";

// The bars and bounds a workspace's file may set laxer than org's defaults: a lower bar for the toolsmith's tests, a
// higher share of failures before a promoted tool is rolled back, more outbound requests a minute. Each set laxer waits
// for `org config trust` (org runs with the default until then); set stricter, it needs nothing.

/** One bar or bound: where it is, its value in the file, its default, which way is laxer, what it guards, how to reset it. */
type Limit = {
  setting: string;
  value: number | undefined;
  standard: number;
  laxer: "lower" | "higher";
  /** A value as the person reads it. */
  format: (value: number) => string;
  /** What a laxer value lets through, said of `value`. */
  lets: (value: number) => string;
  reset: (file: OrgConfigFile, standard: number) => void;
};

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
const count = (value: number) => String(value);

/** The sections of the file that hold a bar or a bound. */
type LimitSection = "toolsmith" | "grow" | "network" | "web";
type LimitKey<S extends LimitSection> = keyof NonNullable<OrgConfigFile[S]> & string;
/** What a limit says beyond where it is: its default, which way is laxer, how it reads, what it lets through. */
type LimitMeaning = Pick<Limit, "standard" | "laxer" | "format" | "lets">;

/** The limit at `section.key` of `file`: its value there, and the reset that puts the default back where it was. */
function limitAt<S extends LimitSection>(file: OrgConfigFile, section: S, key: LimitKey<S>, meaning: LimitMeaning): Limit {
  const part = (entry: OrgConfigFile): Partial<Record<string, unknown>> | undefined => entry[section];
  const value = part(file)?.[key];
  return {
    setting: `${section}.${key}`,
    value: typeof value === "number" ? value : undefined,
    ...meaning,
    reset: (entry, standard) => {
      const target = part(entry);
      if (target) target[key] = standard;
    },
  };
}

function limitsOf(file: OrgConfigFile): Limit[] {
  const toolsmith = ToolsmithSettings.parse({});
  const grow = GrowSettings.parse({});
  const web = WebSettings.parse({});
  return [
    limitAt(file, "toolsmith", "coverage", {
      standard: toolsmith.coverage,
      laxer: "lower",
      format: percent,
      lets: (value) => `a tool the toolsmith builds passes with tests that cover ${percent(value)} of its lines`,
    }),
    limitAt(file, "toolsmith", "mutationScore", {
      standard: toolsmith.mutationScore,
      laxer: "lower",
      format: percent,
      lets: (value) => `a tool the toolsmith builds passes with tests that catch ${percent(value)} of its mutants`,
    }),
    limitAt(file, "grow", "maxFailureRate", {
      standard: grow.maxFailureRate,
      laxer: "higher",
      format: percent,
      lets: (value) => `a promoted tool stays while up to ${percent(value)} of its calls fail`,
    }),
    limitAt(file, "network", "perMinute", {
      standard: DEFAULT_NETWORK.perMinute,
      laxer: "higher",
      format: count,
      lets: (value) => `web_fetch may fetch ${value} times a minute per persona`,
    }),
    limitAt(file, "web", "perMinute", {
      standard: web.perMinute,
      laxer: "higher",
      format: count,
      lets: (value) => `web_request may send ${value} requests a minute per room`,
    }),
  ];
}

/** The bars and bounds of `file` set laxer than their defaults, each guarded (see above). */
export function limitSettings(file: OrgConfigFile): Guarded[] {
  return limitsOf(file).flatMap(({ setting, value, standard, laxer, format, lets, reset }) => {
    if (value === undefined || (laxer === "lower" ? value >= standard : value <= standard)) return [];
    const why = `${lets(value)}, where org's default is ${format(standard)}; until you confirm it, ${format(standard)}`;
    return [guarded(setting, value, format(value), why, (entry) => reset(entry, standard))];
  });
}
