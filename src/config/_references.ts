/** Component references in interpolated values: `${components.<id>.host|endpoint|ports.<name>}`. */
import { componentHost } from "./addressing.ts";
import { didYouMean } from "./_suggest.ts";
import type { OrchestratorKind, PortMapping } from "./pipeline.ts";

/** What references need of each component: its ports and how it is networked. */
export interface ReferencedComponent {
  ports: PortMapping[];
  networkMode?: "bridge" | "host" | undefined;
}

/**
 * Resolves `<id>.host`, `<id>.endpoint` or `<id>.ports.<name>` for one orchestrator.
 * @throws {ReferenceError} for an unknown component, port or field.
 */
export function resolveReference(
  reference: string,
  orchestrator: OrchestratorKind,
  components: ReadonlyMap<string, ReferencedComponent>,
): string {
  const known = [...components.keys()];
  const unknown = (id: string) =>
    new ReferenceError(
      `unknown component "${id}" in \${components.${reference}}${didYouMean(id, known)}`,
    );
  const portsOf = (id: string) => components.get(id)?.ports;
  const hostOf = (id: string) =>
    componentHost(orchestrator, { id, networkMode: components.get(id)?.networkMode });

  const portsAt = reference.lastIndexOf(".ports.");
  if (portsAt > 0) {
    const id = reference.slice(0, portsAt);
    const name = reference.slice(portsAt + ".ports.".length);
    const ports = portsOf(id);
    if (!ports) throw unknown(id);
    const port = ports.find((p) => p.name === name);
    if (!port) {
      throw new ReferenceError(
        `component "${id}" has no port named "${name}"${
          didYouMean(name, ports.map((p) => p.name))
        }`,
      );
    }
    return String(port.containerPort);
  }
  for (const field of ["host", "endpoint"] as const) {
    if (!reference.endsWith(`.${field}`)) continue;
    const id = reference.slice(0, -field.length - 1);
    const ports = portsOf(id);
    if (!ports) throw unknown(id);
    if (field === "host") return hostOf(id);
    const port = ports.find((p) => p.name === "grpc") ?? ports[0];
    if (!port) throw new ReferenceError(`component "${id}" has no ports, so it has no endpoint`);
    return `${hostOf(id)}:${port.containerPort}`;
  }
  throw new ReferenceError(
    `invalid component reference \${components.${reference}}: use .host, .endpoint or .ports.<name>`,
  );
}
