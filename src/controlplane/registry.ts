/**
 * Registrations of the current run only: matching a registration to a pipeline component,
 * heartbeats, staleness after three missed intervals, recovery, unregistering, and the limits
 * that keep one run's records bounded. No I/O; the clock is injected so tests can move time.
 */

export type HealthState =
  | "unknown"
  | "starting"
  | "healthy"
  | "degraded"
  | "unhealthy"
  | "stopping";

/** What a component told the control plane when it registered, in either protocol. */
export interface RegistrationRequest {
  protocol: "flowctl.v1" | "flowctl";
  componentId?: string;
  serviceId?: string;
  /** ComponentInfo.id (flowctl.v1). */
  infoId?: string;
  healthEndpoint?: string;
  name?: string;
  description?: string;
  version?: string;
  /** "source" | "processor" | "sink" | "pipeline" | "unspecified". */
  type: string;
  endpoint?: string;
  inputEventTypes: string[];
  outputEventTypes: string[];
  metadata: Record<string, string>;
}

export interface Registration {
  serviceId: string;
  /** The pipeline component it was matched to, if any. */
  componentId?: string;
  matchedBy?:
    | "component_id"
    | "service_id"
    | "metadata.component_id"
    | "component.id"
    | "health_endpoint port"
    | "peer identity";
  /** Why a registration matched no pipeline component, for the people reading the output. */
  unmatchedReason?: string;
  request: RegistrationRequest;
  registeredAt: number;
  lastHeartbeat: number;
  status: HealthState;
  metrics: Record<string, string>;
  stale: boolean;
}

export type RegistryEvent =
  | { type: "registered"; registration: Registration }
  | { type: "unregistered"; registration: Registration }
  | { type: "stale"; registration: Registration; silentMs: number }
  | { type: "resumed"; registration: Registration }
  /** An unmatched registration went stale and was removed, so strangers cannot pile up. */
  | { type: "dropped"; registration: Registration; silentMs: number }
  /** Heartbeats far faster than the interval; reported once per component per run. */
  | { type: "heartbeat_flood"; registration: Registration; count: number; windowMs: number };

/** The registrations of a run and the warnings already given, handed to a new control plane. */
export interface RegistrySnapshot {
  registrations: Registration[];
  floodWarned: string[];
}

/** What a heartbeat changes in a registration. */
export interface RegistrationBeat {
  lastHeartbeat: number;
  status: HealthState;
  metrics: Record<string, string>;
  stale: boolean;
}

/** Registrations that match no pipeline component, kept at most (matched ones: one each). */
export const MAX_UNMATCHED_REGISTRATIONS = 32;
/** More heartbeats than this within one interval is a flood. */
const FLOOD_HEARTBEATS_PER_INTERVAL = 10;

/** Too many registrations in this run; the message says how many are kept. */
export class RegistrationLimitError extends Error {
  override name = "RegistrationLimitError";
}

export interface RegistryOptions {
  /** Pipeline components: their ids and the host ports of their health checks. */
  components: { id: string; healthPorts: number[] }[];
  heartbeatIntervalMs: number;
  now?: () => number;
  onEvent?: (event: RegistryEvent) => void;
}

/**
 * The registrations of one run: which pipeline component each belongs to, heartbeats and
 * staleness, and waiters for `registered: true` gates. Pure state with an injected clock.
 */
export class Registry {
  readonly #byService = new Map<string, Registration>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #components: RegistryOptions["components"];
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #onEvent: (event: RegistryEvent) => void;
  /** Per component (or service): the start of the current heartbeat window and its count. */
  readonly #beats = new Map<string, { since: number; count: number }>();
  readonly #floodWarned = new Set<string>();

  constructor(options: RegistryOptions) {
    this.#components = options.components;
    this.#intervalMs = options.heartbeatIntervalMs;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Records a registration (a repeated one replaces the earlier) and returns it. `peer` is the
   * component the caller was identified as, which wins over anything the request names.
   * @throws {RegistrationLimitError} when it matches no component and too many such are kept.
   */
  register(request: RegistrationRequest, options: { peer?: string } = {}): Registration {
    const match = options.peer !== undefined
      ? { id: options.peer, by: "peer identity" as const }
      : this.#match(request);
    const serviceId = match?.id ?? nonEmpty(request.serviceId) ?? nonEmpty(request.componentId) ??
      nonEmpty(request.infoId) ?? `service-${crypto.randomUUID().slice(0, 8)}`;
    if (!match && !this.#byService.has(serviceId)) {
      const unmatched = this.list().filter((r) => r.componentId === undefined).length;
      if (unmatched >= MAX_UNMATCHED_REGISTRATIONS) {
        throw new RegistrationLimitError(
          `registration of "${serviceId}" refused: ${unmatched} registrations that match no pipeline component are kept already (at most ${MAX_UNMATCHED_REGISTRATIONS}); unregister one or let it go stale`,
        );
      }
    }
    const now = this.#now();
    // A component re-registering under another service id replaces its earlier record.
    const earlier = match ? this.forComponent(match.id) : undefined;
    if (earlier) this.#byService.delete(earlier.serviceId);
    const registration: Registration = {
      serviceId,
      ...(match
        ? { componentId: match.id, matchedBy: match.by }
        : { unmatchedReason: this.#unmatchedReason(request) }),
      request,
      registeredAt: now,
      lastHeartbeat: now,
      status: "healthy",
      metrics: {},
      stale: false,
    };
    this.#byService.set(serviceId, registration);
    this.#onEvent({ type: "registered", registration });
    if (match) {
      for (const wake of this.#waiters.get(match.id) ?? []) wake();
      this.#waiters.delete(match.id);
    }
    return registration;
  }

  /**
   * Refreshes liveness; a heartbeat with any status (or none) counts.
   * @returns the registration, or undefined for a service that never registered in this run.
   */
  heartbeat(
    serviceId: string,
    update: { status?: HealthState; metrics?: Record<string, string> },
  ): Registration | undefined {
    const registration = this.get(serviceId);
    if (!registration) return undefined;
    registration.lastHeartbeat = this.#now();
    this.#countBeat(registration);
    if (update.status && update.status !== "unknown") registration.status = update.status;
    else if (registration.status === "unhealthy" || registration.stale) {
      registration.status = "healthy";
    }
    if (update.metrics) registration.metrics = update.metrics;
    if (registration.stale) {
      registration.stale = false;
      this.#onEvent({ type: "resumed", registration });
    }
    return registration;
  }

  unregister(serviceId: string): boolean {
    const registration = this.get(serviceId);
    if (!registration) return false;
    this.#byService.delete(registration.serviceId);
    this.#forget(registration);
    this.#onEvent({ type: "unregistered", registration });
    return true;
  }

  /**
   * The registration with `serviceId`: the id flowctl answered, or the one the component sent
   * (components that generate their own id, such as `consumer-<uuid>`, keep using it).
   */
  get(serviceId: string): Registration | undefined {
    return this.#byService.get(serviceId) ??
      (serviceId
        ? this.list().find((r) => r.componentId !== undefined && r.request.serviceId === serviceId)
        : undefined);
  }

  /** Whether `id` is a component of the pipeline. */
  declares(id: string): boolean {
    return this.#components.some((c) => c.id === id);
  }

  /** The registration matched to pipeline component `componentId`, if any. */
  forComponent(componentId: string): Registration | undefined {
    return [...this.#byService.values()].find((r) => r.componentId === componentId);
  }

  list(): Registration[] {
    return [...this.#byService.values()];
  }

  /**
   * Registrations that matched no component, and why, for a component that "never registered"
   * (e.g. `"consumer-1": its health_endpoint … names port 8093, which is not a health port of any
   * component`); undefined when there are none.
   */
  describeUnmatched(): string | undefined {
    const unmatched = this.list().filter((r) => r.componentId === undefined);
    if (unmatched.length === 0) return undefined;
    return unmatched.slice(0, 3).map((r) => `"${r.serviceId}": ${r.unmatchedReason}`).join("; ") +
      (unmatched.length > 3 ? `; and ${unmatched.length - 3} more` : "");
  }

  /** Whether a registration counts as healthy now: fresh heartbeats and a healthy status. */
  isHealthy(registration: Registration): boolean {
    return !registration.stale &&
      (registration.status === "healthy" || registration.status === "degraded");
  }

  /**
   * Marks registrations stale that missed three heartbeat intervals, and removes those that
   * match no pipeline component. Call it periodically.
   */
  checkStaleness(): void {
    const now = this.#now();
    for (const registration of [...this.#byService.values()]) {
      const silentMs = now - registration.lastHeartbeat;
      if (silentMs > 3 * this.#intervalMs && registration.componentId === undefined) {
        this.#byService.delete(registration.serviceId);
        this.#forget(registration);
        this.#onEvent({ type: "dropped", registration, silentMs });
      } else if (!registration.stale && silentMs > 3 * this.#intervalMs) {
        registration.stale = true;
        this.#onEvent({ type: "stale", registration, silentMs });
      }
    }
  }

  /** Resolves once pipeline component `componentId` has registered; rejects when `signal` aborts. */
  waitUntilRegistered(componentId: string, signal: AbortSignal): Promise<void> {
    if (this.forComponent(componentId)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiters = this.#waiters.get(componentId) ?? new Set();
      this.#waiters.set(componentId, waiters);
      const onAbort = () => {
        waiters.delete(wake);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      if (signal.aborted) return onAbort();
      waiters.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** What a control plane process that replaces this one needs to carry on without loss. */
  snapshot(): RegistrySnapshot {
    return { registrations: this.list(), floodWarned: [...this.#floodWarned] };
  }

  /** Takes over `snapshot` (from the process that held the registrations before). */
  restore(snapshot: RegistrySnapshot): void {
    for (const registration of snapshot.registrations) this.adopt(registration);
    for (const key of snapshot.floodWarned) this.#floodWarned.add(key);
  }

  /**
   * Records a registration made elsewhere (the mirror of the control plane process): it replaces
   * the component's earlier record and wakes `waitUntilRegistered`, without events.
   */
  adopt(registration: Registration): void {
    const earlier = registration.componentId !== undefined
      ? this.forComponent(registration.componentId)
      : undefined;
    if (earlier) this.#byService.delete(earlier.serviceId);
    this.#byService.set(registration.serviceId, registration);
    if (registration.componentId === undefined) return;
    for (const wake of this.#waiters.get(registration.componentId) ?? []) wake();
    this.#waiters.delete(registration.componentId);
  }

  /** Forgets a registration removed elsewhere (the mirror of the control plane process). */
  discard(serviceId: string): void {
    this.#byService.delete(serviceId);
  }

  /** Applies a heartbeat's effect recorded elsewhere (the mirror of the control plane process). */
  refresh(serviceId: string, beat: RegistrationBeat): Registration | undefined {
    const registration = this.#byService.get(serviceId);
    if (!registration) return undefined;
    registration.lastHeartbeat = Math.max(registration.lastHeartbeat, beat.lastHeartbeat);
    registration.status = beat.status;
    registration.metrics = beat.metrics;
    registration.stale = beat.stale;
    return registration;
  }

  /** Heartbeat counts of a stranger that left, so they cannot pile up; components keep theirs. */
  #forget(registration: Registration): void {
    if (registration.componentId !== undefined) return;
    this.#beats.delete(registration.serviceId);
    this.#floodWarned.delete(registration.serviceId);
  }

  /** Counts heartbeats per interval; reports a flood once per component. */
  #countBeat(registration: Registration): void {
    const key = registration.componentId ?? registration.serviceId;
    const now = registration.lastHeartbeat;
    let window = this.#beats.get(key);
    if (!window || now - window.since >= this.#intervalMs) {
      window = { since: now, count: 0 };
      this.#beats.set(key, window);
    }
    window.count++;
    if (window.count > FLOOD_HEARTBEATS_PER_INTERVAL && !this.#floodWarned.has(key)) {
      this.#floodWarned.add(key);
      this.#onEvent({
        type: "heartbeat_flood",
        registration,
        count: window.count,
        windowMs: Math.max(1, now - window.since),
      });
    }
  }

  #unmatchedReason(request: RegistrationRequest): string {
    const named = [
      ["component_id", request.componentId],
      ["service_id", request.serviceId],
      ["metadata.component_id", request.metadata.component_id],
      ["component.id", request.infoId],
    ].filter(([, value]) => value);
    const reasons = named.length > 0
      ? [`${named.map(([key, value]) => `${key} "${value}"`).join(", ")} names no component`]
      : ["it sent no component id"];
    const port = portOf(request.healthEndpoint);
    if (port !== undefined) {
      reasons.push(
        `its health_endpoint "${request.healthEndpoint}" names port ${port}, which is not a health port of any component`,
      );
    } else reasons.push("it sent no health_endpoint with a port");
    return reasons.join("; ");
  }

  #match(
    request: RegistrationRequest,
  ): { id: string; by: NonNullable<Registration["matchedBy"]> } | undefined {
    const known = new Set(this.#components.map((c) => c.id));
    const candidates: [string | undefined, NonNullable<Registration["matchedBy"]>][] = [
      [request.componentId, "component_id"],
      [request.serviceId, "service_id"],
      [request.metadata.component_id, "metadata.component_id"],
      [request.infoId, "component.id"],
    ];
    for (const [id, by] of candidates) if (id && known.has(id)) return { id, by };
    const port = portOf(request.healthEndpoint);
    if (port !== undefined) {
      const component = this.#components.find((c) => c.healthPorts.includes(port));
      if (component) return { id: component.id, by: "health_endpoint port" };
    }
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value ? value : undefined;
}

/** The port of `http://host:8088/health`, `host:8088` or `:8088`. */
function portOf(endpoint: string | undefined): number | undefined {
  if (!endpoint) return undefined;
  const match = /:(\d{1,5})(?:\/|$)/.exec(endpoint.replace(/^[a-z]+:\/\//, ""));
  const port = match ? Number(match[1]) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}
