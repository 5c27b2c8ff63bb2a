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

function limitsOf(file: OrgConfigFile): Limit[] {
  const toolsmith = ToolsmithSettings.parse({});
  const grow = GrowSettings.parse({});
  const web = WebSettings.parse({});
  return [
    {
      setting: "toolsmith.coverage",
      value: file.toolsmith?.coverage,
      standard: toolsmith.coverage,
      laxer: "lower",
      format: percent,
      lets: (value) => `a tool the toolsmith builds passes with tests that cover ${percent(value)} of its lines`,
      reset: (entry, standard) => {
        if (entry.toolsmith) entry.toolsmith.coverage = standard;
      },
    },
    {
      setting: "toolsmith.mutationScore",
      value: file.toolsmith?.mutationScore,
      standard: toolsmith.mutationScore,
      laxer: "lower",
      format: percent,
      lets: (value) => `a tool the toolsmith builds passes with tests that catch ${percent(value)} of its mutants`,
      reset: (entry, standard) => {
        if (entry.toolsmith) entry.toolsmith.mutationScore = standard;
      },
    },
    {
      setting: "grow.maxFailureRate",
      value: file.grow?.maxFailureRate,
      standard: grow.maxFailureRate,
      laxer: "higher",
      format: percent,
      lets: (value) => `a promoted tool stays while up to ${percent(value)} of its calls fail`,
      reset: (entry, standard) => {
        if (entry.grow) entry.grow.maxFailureRate = standard;
      },
    },
    {
      setting: "network.perMinute",
      value: file.network?.perMinute,
      standard: DEFAULT_NETWORK.perMinute,
      laxer: "higher",
      format: count,
      lets: (value) => `web_fetch may fetch ${value} times a minute per persona`,
      reset: (entry, standard) => {
        if (entry.network) entry.network.perMinute = standard;
      },
    },
    {
      setting: "web.perMinute",
      value: file.web?.perMinute,
      standard: web.perMinute,
      laxer: "higher",
      format: count,
      lets: (value) => `web_request may send ${value} requests a minute per room`,
      reset: (entry, standard) => {
        if (entry.web) entry.web.perMinute = standard;
      },
    },
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
