/**
 * The environment each component of a run was given: computed once when the run is opened or
 * prepared, kept in memory for exec probes and `flowctl exec`, never persisted.
 */
export class RunEnvs {
  readonly #envs = new Map<string, Readonly<Record<string, string>>>();

  set(componentId: string, env: Readonly<Record<string, string>>): void {
    this.#envs.set(componentId, env);
  }

  /** The environment of a component; undefined when it is not in this run (or not prepared). */
  of(componentId: string): Readonly<Record<string, string>> | undefined {
    return this.#envs.get(componentId);
  }
}
