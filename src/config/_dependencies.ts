/** `depends_on` in either form (a list of ids, or compose's map with conditions) as one list. */
import type { DependencyCondition } from "./pipeline.ts";
import type { ComponentSpec } from "./schema.ts";
import type { IssueCollector } from "./_issues.ts";
import type { PathSegment } from "./yaml_path.ts";

/** One `depends_on` edge as written, and where it sits below the component. */
export interface DependencyEntry {
  id: string;
  condition: DependencyCondition;
  /** Path below the component: `["depends_on", 0]` or `["depends_on", "migrate"]`. */
  at: PathSegment[];
  /** In the map form the id is a key: issues point at the key, not at its value. */
  atKey: boolean;
}

/** The edges of `depends_on`; the list form and a map entry without a condition mean "healthy". */
export function dependencyEntries(spec: ComponentSpec): DependencyEntry[] {
  const dependsOn = spec.depends_on;
  if (dependsOn === undefined) return [];
  if (Array.isArray(dependsOn)) {
    return dependsOn.map((id, index) => ({
      id,
      condition: "healthy",
      at: ["depends_on", index],
      atKey: false,
    }));
  }
  return Object.entries(dependsOn).map(([id, value]) => ({
    id,
    // compose spells them service_started, service_healthy, service_completed_successfully.
    condition: (value?.condition?.replace(/^service_/, "") ?? "healthy") as DependencyCondition,
    at: ["depends_on", id],
    atKey: true,
  }));
}

/**
 * An empty `inputs` list is a mistake (the key says "reads from" and names nothing); a processor
 * with neither inputs nor depends_on receives nothing, which is allowed (a migration step) but
 * worth a warning.
 */
export function checkInputsShape(
  spec: ComponentSpec,
  kind: string,
  path: readonly PathSegment[],
  issues: IssueCollector,
): void {
  if (spec.inputs?.length === 0) {
    issues.report(
      [...path, "inputs"],
      `"inputs" is empty: list the components "${spec.id}" reads from, or remove the key`,
    );
  } else if (kind === "processor" && spec.inputs === undefined && spec.depends_on === undefined) {
    issues.warn(
      [...path, "id"],
      `processor "${spec.id}" has no inputs, so nothing reaches it: add "inputs", or make it a source`,
    );
  }
}
