/** The data path plan as the data path process reads it (JSON in FLOWCTL_DATA_PATH_PLAN). */
import * as v from "valibot";
import type { DataPathPlan } from "./plan.ts";
import type { Reach } from "./decide.ts";

const PlanSchema = v.object({
  pipeline: v.string(),
  host: v.string(),
  components: v.array(v.object({
    id: v.string(),
    role: v.picklist(["source", "processor", "sink"]),
    forced: v.optional(v.picklist(["driven", "direct"])),
    inputs: v.array(v.string()),
    streamParams: v.record(v.string(), v.string()),
  })),
  edges: v.array(v.object({ from: v.string(), to: v.string() })),
});

/** The file where the data path keeps source positions across its restarts within a run. */
export const POSITIONS_VARIABLE = "FLOWCTL_DATA_PATH_POSITIONS";

/**
 * The file where the runner keeps where each component is reached (container and swarm mode),
 * as JSON: a Reach by component id.
 */
export const HOSTS_VARIABLE = "FLOWCTL_DATA_PATH_HOSTS";

const HostsSchema = v.record(
  v.string(),
  v.object({
    host: v.optional(v.string()),
    published: v.optional(v.record(v.string(), v.string())),
    where: v.optional(v.string()),
  }),
);

/** The hosts file's text as Reach by component id; none when it is no such JSON. */
export function parseHosts(text: string): Record<string, Reach> {
  try {
    const parsed = v.safeParse(HostsSchema, JSON.parse(text));
    return parsed.success ? parsed.output : {};
  } catch {
    return {};
  }
}

/** Exit code of `flowctl __data-path --decide` when no edge would be driven. */
export const NOTHING_DRIVEN = 10;

/** The variable that carries the plan to the data path process. */
export const PLAN_VARIABLE = "FLOWCTL_DATA_PATH_PLAN";

/**
 * Reads a plan from its JSON text.
 * @throws {TypeError} when the text is no plan.
 */
export function parsePlan(text: string): DataPathPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${PLAN_VARIABLE} is not JSON: ${(error as Error).message}`);
  }
  const parsed = v.safeParse(PlanSchema, json);
  if (!parsed.success) {
    throw new TypeError(`${PLAN_VARIABLE} is no data path plan: ${parsed.issues[0].message}`);
  }
  const { components, ...rest } = parsed.output;
  return {
    ...rest,
    components: components.map(({ forced, ...c }) => ({ ...c, ...(forced ? { forced } : {}) })),
  };
}
