/** A wide test pipeline of light components, for the dashboard's tests and benchmark. */
import { pipelineYaml } from "./_helpers.ts";

/** Light components: a shell that says it is up and sleeps (no health check: running). */
const COMMAND = '[sh, -c, "echo $$COMPONENT_ID up; exec sleep 100000"]';

/**
 * `sources` sources; `sources * depth` processors in `depth` levels (each reads a source, the
 * later ones also the processor `sources` before); as many sinks as sources, reading the last
 * level. The defaults make 50 components and 60 edges.
 */
export function wideYaml(name: string, sources = 10, depth = 3): string {
  const lines: string[] = ["  sources:"];
  for (let i = 0; i < sources; i++) lines.push(`    - { id: s${i}, command: ${COMMAND} }`);
  lines.push("  processors:");
  for (let i = 0; i < sources * depth; i++) {
    const inputs = i < sources ? [`s${i % sources}`] : [`s${i % sources}`, `p${i - sources}`];
    lines.push(`    - { id: p${i}, inputs: [${inputs.join(", ")}], command: ${COMMAND} }`);
  }
  lines.push("  sinks:");
  for (let i = 0; i < sources; i++) {
    lines.push(
      `    - { id: k${i}, inputs: [p${sources * (depth - 1) + i}], command: ${COMMAND} }`,
    );
  }
  return pipelineYaml(name, lines.join("\n") + "\n");
}
